package dev.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

/**
 * Sets a path's own mtime with utimensat(AT_SYMLINK_NOFOLLOW). The JDK's setTimes opens the file
 * first, which blocks on a fifo and opens a device node; this never opens anything.
 */
public final class FileTimes {
    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final long UTIME_OMIT = (1L << 30) - 2;
    private static final MethodHandle UTIMENSAT = ErrnoCalls.downcall("utimensat", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private FileTimes() {
    }

    /** Sets the modification time and leaves the access time as it is. */
    public static void setMtime(Path path, FileTime mtime) throws ErrnoException {
        Instant t = mtime.toInstant();
        int rc;
        int errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            // struct timespec[2]: atime, mtime
            MemorySegment times = arena.allocateFrom(ValueLayout.JAVA_LONG, 0, UTIME_OMIT, t.getEpochSecond(), t.getNano());
            rc = (int) UTIMENSAT.invokeExact(state, AT_FDCWD, arena.allocateFrom(path.toString()), times,
                    AT_SYMLINK_NOFOLLOW);
            errno = ErrnoCalls.errno(state);
        } catch (Throwable e) {
            throw ErrnoCalls.rethrow(e);
        }
        if (rc != 0) {
            throw new ErrnoException("utimensat " + path, errno);
        }
    }
}
