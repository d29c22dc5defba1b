package dev.vessel.node;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** A hand-written HTTP/1.1 client for the tests: one request per connection ({@code Connection: close}), chunked bodies decoded. */
public final class ApiClient {
    public record Response(int status, Map<String, String> headers, String body) {
    }

    private final SocketAddress address;
    private final String authorization;

    private ApiClient(SocketAddress address, String authorization) {
        this.address = address;
        this.authorization = authorization;
    }

    public static ApiClient unix(Path socket) {
        return new ApiClient(UnixDomainSocketAddress.of(socket), null);
    }

    public static ApiClient tcp(int port, String authorization) {
        return new ApiClient(new InetSocketAddress("127.0.0.1", port), authorization);
    }

    public Response get(String path) throws IOException {
        return send("GET", path, null);
    }

    public Response post(String path, String body) throws IOException {
        return send("POST", path, body);
    }

    public Response delete(String path) throws IOException {
        return send("DELETE", path, null);
    }

    public Response send(String method, String path, String body) throws IOException {
        byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: vessel\r\nConnection: close\r\n");
        if (authorization != null) {
            head.append("Authorization: ").append(authorization).append("\r\n");
        }
        if (body != null) {
            head.append("Content-Type: application/json\r\n");
        }
        head.append("Content-Length: ").append(content.length).append("\r\n\r\n");
        StandardProtocolFamily family = address instanceof UnixDomainSocketAddress ? StandardProtocolFamily.UNIX
                : StandardProtocolFamily.INET;
        try (SocketChannel channel = SocketChannel.open(family)) {
            channel.connect(address);
            OutputStream out = Channels.newOutputStream(channel);
            IOException writeFailure = null;
            try {
                out.write(head.toString().getBytes(StandardCharsets.UTF_8));
                out.write(content);
                out.flush();
            } catch (IOException e) {
                // the server may refuse a body (too large) and close before reading it all: its answer
                // is still there to read, as curl reads it
                writeFailure = e;
            }
            InputStream in = Channels.newInputStream(channel);
            byte[] answer;
            try {
                answer = readAll(in);
            } catch (IOException e) {
                if (writeFailure != null) {
                    e.addSuppressed(writeFailure);
                }
                throw e;
            }
            if (answer.length == 0 && writeFailure != null) {
                throw writeFailure;
            }
            return parse(answer);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        try {
            in.transferTo(all);
        } catch (IOException e) {
            // a reset after a complete response (the server closes early on a refused body)
            if (all.size() == 0) {
                throw e;
            }
        }
        return all.toByteArray();
    }

    private static Response parse(byte[] raw) {
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        String[] lines = text.substring(0, end).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
        }
        String body = text.substring(end + 4);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = dechunk(body);
        }
        return new Response(status, headers, new String(body.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
    }

    private static String dechunk(String body) {
        StringBuilder out = new StringBuilder();
        int at = 0;
        while (true) {
            int lineEnd = body.indexOf("\r\n", at);
            int size = Integer.parseInt(body.substring(at, lineEnd).trim(), 16);
            if (size == 0) {
                return out.toString();
            }
            out.append(body, lineEnd + 2, lineEnd + 2 + size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
