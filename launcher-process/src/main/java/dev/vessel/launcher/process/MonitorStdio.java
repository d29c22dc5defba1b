package dev.vessel.launcher.process;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * A client of a monitor's attach socket (PROTOCOL.md, section 9): the stdio of a task or an exec, in
 * stdio frames. Reads and writes go straight to the channel, which locks each direction on its own, so
 * one thread may wait for output while another sends input.
 */
public final class MonitorStdio implements StdioChannel {
    private final SocketChannel channel;
    private final InputStream in;
    private final Object writing = new Object();

    private MonitorStdio(SocketChannel channel) {
        this.channel = channel;
        // not Channels.newInputStream: its reads hold the lock its writes need
        this.in = new BufferedInputStream(new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return len == 0 ? 0 : channel.read(ByteBuffer.wrap(b, off, len));
            }
        }, 1 << 16);
    }

    /** Connects to the monitor serving {@code socket}; {@code owner} names the task or exec in an error. */
    static MonitorStdio connect(Path socket, String owner) throws IOException {
        try {
            return new MonitorStdio(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
        } catch (SocketException e) { // no such file, or refused: a monitor that has ended
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, owner, "is not running: nothing serves its"
                    + " stdio at " + socket);
        }
    }

    @Override
    public StdioFrame read() throws IOException {
        return StdioFrame.readFrom(in);
    }

    @Override
    public void write(StdioFrame frame) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(frame.encode());
        synchronized (writing) {
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
