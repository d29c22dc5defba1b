package dev.vessel.guest;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A one-way byte pipe in memory: what is written to {@link #out()} is read from {@link #in()}.
 * Closing either end ends the stream for the reader after what was written; a write after close
 * fails. Unlike java.io's piped streams it does not care which threads read and write, so virtual
 * threads may come and go. Used to drive the agent without a virtio port (image training, tests).
 */
final class MemoryPipe {
    private byte[] buffer = new byte[8192];
    private int start;
    private int end;
    private boolean closed;

    private final InputStream in = new InputStream() {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return take(b, off, len);
        }

        @Override
        public void close() {
            MemoryPipe.this.close();
        }
    };

    private final OutputStream out = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            put(b, off, len);
        }

        @Override
        public void close() {
            MemoryPipe.this.close();
        }
    };

    /** Two pipes, one each way: the agent's end and the host's end of one connection. */
    record Link(Transport.Connection guest, Transport.Connection host) {
    }

    /** A connection in memory; closing either end ends it for both sides. */
    static Link link() {
        MemoryPipe toGuest = new MemoryPipe();
        MemoryPipe toHost = new MemoryPipe();
        Closeable both = () -> {
            toGuest.close();
            toHost.close();
        };
        return new Link(new Transport.Connection(toGuest.in(), toHost.out(), both),
                new Transport.Connection(toHost.in(), toGuest.out(), both));
    }

    InputStream in() {
        return in;
    }

    OutputStream out() {
        return out;
    }

    synchronized void close() {
        closed = true;
        notifyAll();
    }

    private synchronized void put(byte[] b, int off, int len) throws IOException {
        if (closed) {
            throw new IOException("pipe closed");
        }
        if (end + len > buffer.length) {
            int used = end - start;
            byte[] bigger = used + len > buffer.length ? new byte[Math.max(buffer.length * 2, used + len)] : buffer;
            System.arraycopy(buffer, start, bigger, 0, used);
            buffer = bigger;
            start = 0;
            end = used;
        }
        System.arraycopy(b, off, buffer, end, len);
        end += len;
        notifyAll();
    }

    private synchronized int take(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (start == end && !closed) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while reading a pipe", e);
            }
        }
        if (start == end) {
            return -1;
        }
        int n = Math.min(len, end - start);
        System.arraycopy(buffer, start, b, off, n);
        start += n;
        if (start == end) {
            start = 0;
            end = 0;
        }
        return n;
    }
}
