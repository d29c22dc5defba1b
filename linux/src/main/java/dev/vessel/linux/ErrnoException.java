package dev.vessel.linux;

import java.io.IOException;

/** A failed libc call: the operation and its object, and the kernel's errno with its text. */
public final class ErrnoException extends IOException {
    public static final int ENOENT = 2;
    public static final int EINVAL = 22;
    public static final int ENODATA = 61;

    private final int errno;

    /** {@code operation} names what failed and on what, e.g. "mount overlay on /x". */
    public ErrnoException(String operation, int errno) {
        super(operation + ": " + LibC.strerror(errno));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
