package dev.vessel.guest;

import dev.vessel.core.agent.GuestFrame;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes one connection's guest frames, one whole frame at a time: replies and events come from many
 * threads and must not interleave. Once the connection is closed or a write failed, every send fails,
 * so nothing meant for a dead connection reaches the next one.
 */
final class FrameWriter {
    private final OutputStream out;
    private volatile boolean closed;

    FrameWriter(OutputStream out) {
        this.out = out;
    }

    synchronized void send(GuestFrame frame) throws IOException {
        if (closed) {
            throw new IOException("the connection to the host is closed");
        }
        try {
            frame.writeDelimitedTo(out);
            out.flush();
        } catch (IOException e) {
            closed = true;
            throw e;
        }
    }

    /** Not synchronized: a writer blocked on a host that went away must not hold this up. */
    void close() {
        closed = true;
    }
}
