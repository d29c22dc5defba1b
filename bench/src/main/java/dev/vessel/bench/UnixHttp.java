package dev.vessel.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The least HTTP/1.1 a benchmark needs to speak to vesseld's API: one request per connection over
 * its Unix socket ({@code Connection: close}), the answer read to its end. Just enough that what is
 * measured is the daemon, not a client library.
 */
final class UnixHttp {
    record Response(int status, String body) {
    }

    private final UnixDomainSocketAddress socket;

    UnixHttp(Path socket) {
        this.socket = UnixDomainSocketAddress.of(socket);
    }

    /** Sends the request; fails unless the answer's status is 2xx. */
    String call(String method, String path, String jsonBody) throws IOException {
        Response r = send(method, path, jsonBody);
        if (r.status() / 100 != 2) {
            throw new IOException(method + " " + path + ": HTTP " + r.status() + " " + r.body());
        }
        return r.body();
    }

    Response send(String method, String path, String jsonBody) throws IOException {
        byte[] body = jsonBody == null ? new byte[0] : jsonBody.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\nHost: vessel\r\nConnection: close\r\n"
                + (jsonBody == null ? "" : "Content-Type: application/json\r\n")
                + "Content-Length: " + body.length + "\r\n\r\n";
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(socket);
            ByteBuffer request = ByteBuffer.allocate(head.length() + body.length)
                    .put(head.getBytes(StandardCharsets.ISO_8859_1)).put(body).flip();
            while (request.hasRemaining()) {
                channel.write(request);
            }
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            ByteBuffer buffer = ByteBuffer.allocate(8192);
            while (channel.read(buffer.clear()) >= 0) {
                answer.write(buffer.array(), 0, buffer.position());
            }
            return parse(answer.toString(StandardCharsets.ISO_8859_1));
        }
    }

    private static Response parse(String answer) throws IOException {
        int end = answer.indexOf("\r\n\r\n");
        if (!answer.startsWith("HTTP/1.1 ") || end < 0) {
            throw new IOException("not an HTTP answer: " + answer);
        }
        int status = Integer.parseInt(answer.substring(9, 12));
        String head = answer.substring(0, end).toLowerCase(java.util.Locale.ROOT);
        String body = answer.substring(end + 4);
        if (head.contains("\r\ntransfer-encoding: chunked")) {
            body = unchunk(body);
        }
        return new Response(status, new String(body.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
    }

    private static String unchunk(String chunked) {
        StringBuilder body = new StringBuilder();
        int at = 0;
        while (true) {
            int eol = chunked.indexOf("\r\n", at);
            int size = Integer.parseInt(chunked.substring(at, eol).split(";", 2)[0].trim(), 16);
            if (size == 0) {
                return body.toString();
            }
            body.append(chunked, eol + 2, eol + 2 + size);
            at = eol + 2 + size + 2;
        }
    }
}
