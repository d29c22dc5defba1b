package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A small HTTP/1.1 client for vesseld: one request per connection ({@code Connection: close}), over the
 * Unix socket or loopback TCP with a bearer token. Bodies are read as streams (chunked or not) so that
 * followed logs and pull progress arrive as the daemon sends them. Also vessel-runtime's, which loads as
 * little as it can: nothing here loads Jackson but reading a JSON answer.
 */
public final class VesselClient {
    static final String DEFAULT_HOST = "unix:///run/vessel/vessel.sock";

    private final String host;
    private final SocketAddress address;
    private final String authorization;

    private VesselClient(String host, SocketAddress address, String authorization) {
        this.host = host;
        this.address = address;
        this.authorization = authorization;
    }

    /** {@code unix:///path} or {@code tcp://127.0.0.1:PORT} (the latter needs the daemon's token file). */
    public static VesselClient connect(String host, Path tokenFile) {
        if (host.startsWith("unix://")) {
            return new VesselClient(host, UnixDomainSocketAddress.of(host.substring("unix://".length())), null);
        }
        if (host.startsWith("tcp://")) {
            URI uri = URI.create(host);
            if (uri.getHost() == null || uri.getPort() < 0) {
                throw new CliFailure("--host: '" + host + "' must be tcp://HOST:PORT");
            }
            if (tokenFile == null) {
                throw new CliFailure("--host: a tcp:// daemon needs --token-file (its bearer token)");
            }
            String token;
            try {
                token = Files.readString(tokenFile, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                throw new CliFailure("--token-file: cannot read " + tokenFile + ": " + e.getMessage());
            }
            return new VesselClient(host, new InetSocketAddress(uri.getHost(), uri.getPort()), "Bearer " + token);
        }
        throw new CliFailure("--host: '" + host + "' must be unix:///PATH or tcp://HOST:PORT");
    }

    /** A response whose body is read as it arrives; close it to drop the connection. */
    public static final class Response implements Closeable {
        public final int status;
        public final InputStream body;
        private final SocketChannel channel;

        private Response(int status, InputStream body, SocketChannel channel) {
            this.status = status;
            this.body = body;
            this.channel = channel;
        }

        public String text() throws IOException {
            return new String(body.readAllBytes(), StandardCharsets.UTF_8);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** Sends a request; a 4xx/5xx answer is turned into a {@link CliFailure} carrying the daemon's error. */
    Response open(String method, String path, String jsonBody) {
        Response response = send(method, path, jsonBody);
        if (response.status >= 400) {
            try (response) {
                throw new CliFailure(errorMessage(response.status, response.text()));
            } catch (IOException e) {
                throw new CliFailure("reading the answer of vesseld at " + host + ": " + e.getMessage());
            }
        }
        return response;
    }

    /** A whole JSON answer. */
    JsonNode call(String method, String path, String jsonBody) {
        try (Response response = open(method, path, jsonBody)) {
            return CliJson.JSON.readTree(response.text());
        } catch (IOException e) {
            throw new CliFailure("reading the answer of vesseld at " + host + ": " + e.getMessage());
        }
    }

    /**
     * A connection the daemon switched from HTTP to raw bytes both ways (101 Switching Protocols): an
     * interactive session, read from {@link #in} and written to {@link #out}, each from a thread of its own.
     */
    public static final class Upgraded implements Closeable {
        public final InputStream in;
        public final OutputStream out;
        private final SocketChannel channel;

        private Upgraded(InputStream in, SocketChannel channel) {
            this.in = in;
            this.channel = channel;
            // straight to the channel: its writes never wait behind a read blocked in another thread
            this.out = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                    while (buf.hasRemaining()) {
                        channel.write(buf);
                    }
                }
            };
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** Asks for an interactive session on {@code path}; a refusal is a {@link CliFailure} with the daemon's error. */
    public Upgraded upgrade(String method, String path) {
        Response response = send(method, path, null, true);
        if (response.status == 101) {
            return new Upgraded(response.body, response.channel);
        }
        try (response) {
            throw new CliFailure(response.status >= 400 ? errorMessage(response.status, response.text())
                    : "vesseld answered HTTP " + response.status + " where an interactive session was asked for");
        } catch (IOException e) {
            throw new CliFailure("reading the answer of vesseld at " + host + ": " + e.getMessage());
        }
    }

    /** Sends a request whatever its status; only an unreachable daemon fails. */
    public Response send(String method, String path, String jsonBody) {
        return send(method, path, jsonBody, false);
    }

    private Response send(String method, String path, String jsonBody, boolean upgrade) {
        return send(method, path, jsonBody == null ? null : jsonBody.getBytes(StandardCharsets.UTF_8),
                "application/json", upgrade);
    }

    /** A request with a body of another type (e.g. a tar); null for none. */
    Response send(String method, String path, byte[] body, String contentType) {
        return send(method, path, body, contentType, false);
    }

    private Response send(String method, String path, byte[] body, String contentType, boolean upgrade) {
        byte[] content = body == null ? new byte[0] : body;
        StringBuilder head = new StringBuilder(method).append(' ').append(path)
                .append(" HTTP/1.1\r\nHost: vessel\r\n")
                .append(upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n");
        if (authorization != null) {
            head.append("Authorization: ").append(authorization).append("\r\n");
        }
        if (body != null) {
            head.append("Content-Type: ").append(contentType).append("\r\n");
        }
        head.append("Content-Length: ").append(content.length).append("\r\n\r\n");
        SocketChannel channel = connectChannel();
        try {
            OutputStream out = Channels.newOutputStream(channel);
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(content);
            out.flush();
            return readHead(channel, new BufferedInputStream(Channels.newInputStream(channel)));
        } catch (IOException e) {
            closeQuietly(channel);
            throw new CliFailure("talking to vesseld at " + host + ": " + e.getMessage());
        }
    }

    private SocketChannel connectChannel() {
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open(address instanceof UnixDomainSocketAddress ? StandardProtocolFamily.UNIX
                    : StandardProtocolFamily.INET);
            channel.connect(address);
            return channel;
        } catch (IOException e) {
            if (channel != null) {
                closeQuietly(channel);
            }
            throw new CliFailure("cannot reach vesseld at " + host + ": " + whyUnreachable(e)
                    + " — is the daemon running? start it with `vessel daemon`");
        }
    }

    private String whyUnreachable(IOException e) {
        if (address instanceof UnixDomainSocketAddress unix) {
            Path socket = unix.getPath();
            if (!Files.exists(socket)) {
                return "no such socket";
            }
            if (!Files.isReadable(socket) || !Files.isWritable(socket)) {
                return "permission denied (the socket is root's, mode 0660: run as root or in its group)";
            }
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().toLowerCase(Locale.ROOT);
    }

    private Response readHead(SocketChannel channel, BufferedInputStream in) throws IOException {
        String statusLine = line(in);
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
            throw new IOException("not an HTTP answer: " + statusLine);
        }
        int status = Integer.parseInt(parts[1]);
        boolean chunked = false;
        long length = -1;
        for (String header = line(in); !header.isEmpty(); header = line(in)) {
            int colon = header.indexOf(':');
            String name = header.substring(0, Math.max(colon, 0)).trim().toLowerCase(Locale.ROOT);
            String value = header.substring(colon + 1).trim();
            if (name.equals("transfer-encoding")) {
                chunked = value.equalsIgnoreCase("chunked");
            } else if (name.equals("content-length")) {
                length = Long.parseLong(value);
            }
        }
        // after a 101 the rest is the session's raw bytes
        InputStream body = status == 101 ? in : chunked ? new ChunkedBody(in) : length >= 0 ? new LimitedBody(in, length) : in;
        return new Response(status, body, channel);
    }

    /** One CRLF-terminated header or chunk-size line. */
    static String line(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                throw new EOFException("the daemon closed the connection mid-answer");
            }
            line.write(b);
        }
        String text = line.toString(StandardCharsets.ISO_8859_1);
        return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
    }

    /** {@code <field>: <message>} from the daemon's {@code {"code","field","message"}}, or the raw answer. */
    static String errorMessage(int status, String body) {
        try {
            JsonNode error = CliJson.JSON.readTree(body);
            if (error.has("error")) {
                error = error.get("error");
            }
            if (error.has("message")) {
                String field = error.path("field").asText("");
                return (field.isEmpty() ? "" : field + ": ") + error.get("message").asText();
            }
        } catch (IOException e) {
            // not JSON: quote it as it came
        }
        return "HTTP " + status + ": " + body.strip();
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }

    /** Decodes {@code Transfer-Encoding: chunked} as the chunks arrive. */
    private static final class ChunkedBody extends InputStream {
        private final InputStream in;
        private long left;
        private boolean done;

        ChunkedBody(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (!nextChunk()) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                throw new EOFException("the daemon closed the connection mid-chunk");
            }
            left -= n;
            if (left == 0) {
                line(in); // the CRLF after the chunk's data
            }
            return n;
        }

        private boolean nextChunk() throws IOException {
            if (done) {
                return false;
            }
            if (left == 0) {
                String size = line(in);
                int extension = size.indexOf(';');
                left = Long.parseLong((extension < 0 ? size : size.substring(0, extension)).trim(), 16);
                if (left == 0) {
                    while (!line(in).isEmpty()) {
                        // trailers: none are used
                    }
                    done = true;
                    return false;
                }
            }
            return true;
        }
    }

    /** A {@code Content-Length} body. */
    private static final class LimitedBody extends InputStream {
        private final InputStream in;
        private long left;

        LimitedBody(InputStream in, long length) {
            this.in = in;
            this.left = length;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                throw new EOFException("the daemon closed the connection mid-answer");
            }
            left -= n;
            return n;
        }
    }
}
