package dev.vessel.guest;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Where the agent reaches the host. Each {@link #connect()} yields the byte streams of one connection;
 * when that connection ends (the host went away), the agent asks for the next one and shakes hands
 * again. Tasks outlive connections.
 */
public interface Transport {
    /** The next connection to the host; may return before the host is there (writes then wait for it). */
    Connection connect() throws IOException;

    /** One connection: the agent reads host frames from {@code in} and writes guest frames to {@code out}. */
    record Connection(InputStream in, OutputStream out, Closeable onClose) implements Closeable {
        @Override
        public void close() throws IOException {
            onClose.close();
        }
    }
}
