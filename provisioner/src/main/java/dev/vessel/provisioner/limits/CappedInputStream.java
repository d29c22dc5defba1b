package dev.vessel.provisioner.limits;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Fails as soon as more than {@code cap} bytes have been read, so an oversized download stops early. */
public final class CappedInputStream extends FilterInputStream {
    private final long cap;
    private final Runnable overflow;
    private long count;

    /** {@code overflow} throws the caller's error; {@code cap} 0 means no cap. */
    public CappedInputStream(InputStream in, long cap, Runnable overflow) {
        super(in);
        this.cap = cap;
        this.overflow = overflow;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            counted(1);
        }
        return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        int n = super.read(buf, off, len);
        if (n > 0) {
            counted(n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        long skipped = super.skip(n);
        counted(skipped);
        return skipped;
    }

    private void counted(long n) {
        count += n;
        if (cap > 0 && count > cap) {
            overflow.run();
        }
    }
}
