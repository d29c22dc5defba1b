package dev.vessel.launcher.vm.agent;

import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.Hello;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.ProtocolVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The guest's end of the agent protocol, driven step by step by a test: listens where QEMU would
 * (the channel socket), accepts the host, and reads and writes length-delimited frames.
 */
final class FakeGuest implements AutoCloseable {
    private final ServerSocketChannel server;
    private SocketChannel connection;
    private InputStream in;
    private OutputStream out;

    FakeGuest(Path socket) throws IOException {
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    /** Waits for the host to connect (dropping a previous connection). */
    FakeGuest accept() throws IOException {
        if (connection != null) {
            connection.close();
        }
        connection = server.accept();
        in = Channels.newInputStream(connection);
        out = Channels.newOutputStream(connection);
        return this;
    }

    void sayHello() throws IOException {
        send(GuestFrame.newBuilder().setHello(Hello.newBuilder().setVersion(ProtocolVersion.V1)
                .setAgentVersion("fake-1")));
    }

    void send(GuestFrame.Builder frame) throws IOException {
        frame.build().writeDelimitedTo(out);
        out.flush();
    }

    /** Writes {@code bytes} as they are: a guest that does not speak the protocol. */
    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** The next frame from the host; null at the end of the stream. */
    HostFrame receive() throws IOException {
        return HostFrame.parseDelimitedFrom(in);
    }

    /** The next frame from the host that is not a heartbeat ping (answered on the way). */
    HostFrame receiveSkippingPings() throws IOException {
        HostFrame frame = receive();
        while (frame != null && frame.hasPing()) {
            send(GuestFrame.newBuilder().setRequestId(frame.getRequestId())
                    .setPong(dev.vessel.core.agent.Pong.getDefaultInstance()));
            frame = receive();
        }
        return frame;
    }

    void hangUp() throws IOException {
        if (connection != null) {
            connection.close();
            connection = null;
        }
    }

    @Override
    public void close() throws IOException {
        hangUp();
        server.close();
    }
}
