package dev.vessel.node;

import dev.vessel.core.stdio.StdioFrame;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** An API client's interactive session: a request upgraded to {@link StdioFrame}s both ways (attach, exec start). */
final class StdioClient implements Closeable {
    private final SocketChannel channel;
    private final InputStream in;
    private final OutputStream out;

    private StdioClient(SocketChannel channel) {
        this.channel = channel;
        this.in = Channels.newInputStream(channel);
        this.out = Channels.newOutputStream(channel);
    }

    /** POSTs {@code path} asking for an upgrade; fails with the daemon's answer unless it is 101. */
    static StdioClient open(Path socket, String path) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        StdioClient client = new StdioClient(channel);
        client.out.write(("POST " + path + " HTTP/1.1\r\nHost: vessel\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                + "Content-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        String head = client.head();
        if (!head.startsWith("HTTP/1.1 101")) {
            client.close();
            throw new IOException("not upgraded: " + head);
        }
        return client;
    }

    private String head() throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    /** Bytes as they are, for what no StdioFrame can be. */
    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
    }

    void send(StdioFrame frame) throws IOException {
        out.write(frame.encode());
    }

    /** The next frame, null at the end of the stream. */
    StdioFrame read() throws IOException {
        return StdioFrame.readFrom(in);
    }

    /** Reads until EXIT: everything printed on STDOUT and STDERR, and the status. */
    record Transcript(String stdout, String stderr, int status) {
    }

    Transcript readToExit() throws IOException {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        for (StdioFrame f = read(); f != null; f = read()) {
            switch (f.type()) {
                case STDOUT -> stdout.write(f.payload());
                case STDERR -> stderr.write(f.payload());
                case EXIT -> {
                    return new Transcript(stdout.toString(StandardCharsets.UTF_8), stderr.toString(StandardCharsets.UTF_8),
                            f.exitStatus());
                }
                default -> throw new IOException("a process sent " + f.type());
            }
        }
        throw new IOException("the stream ended without EXIT; stdout so far: " + stdout);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
