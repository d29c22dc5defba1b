package dev.vessel.core.linux;

import java.io.IOException;

/** A failed libc call: the operation and its object, and the kernel's errno with its text. */
public final class ErrnoException extends IOException {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int EROFS = 30;
    public static final int ENODATA = 61;

    private final int errno;

    /** {@code operation} names what failed and on what, e.g. "mount overlay on /x". */
    public ErrnoException(String operation, int errno) {
        super(operation + ": " + Libc.strerror(errno));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }
}
