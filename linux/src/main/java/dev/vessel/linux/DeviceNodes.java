package dev.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/** mknod(2): character and block devices and fifos, which java.nio cannot create. */
public final class DeviceNodes {
    public enum Kind {
        CHARACTER(0020000), BLOCK(0060000), FIFO(0010000);

        private final int typeBits;

        Kind(int typeBits) {
            this.typeBits = typeBits;
        }
    }

    private static final MethodHandle MKNOD = ErrnoCalls.downcall("mknod", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));

    private DeviceNodes() {
    }

    /** Creates the node with permission bits {@code mode & 07777} (the umask still applies). */
    public static void create(Path path, Kind kind, int mode, int major, int minor) throws ErrnoException {
        int rc;
        int errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            rc = (int) MKNOD.invokeExact(state, arena.allocateFrom(path.toString()), kind.typeBits | (mode & 07777),
                    makedev(major, minor));
            errno = ErrnoCalls.errno(state);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        if (rc != 0) {
            throw new ErrnoException("mknod " + path, errno);
        }
    }

    /** glibc's gnu_dev_makedev encoding of a device number. */
    static long makedev(long major, long minor) {
        return ((major & 0xfffff000L) << 32) | ((major & 0xfffL) << 8)
                | ((minor & 0xffffff00L) << 12) | (minor & 0xffL);
    }

    public static int major(long dev) {
        return (int) (((dev >>> 32) & 0xfffff000L) | ((dev >>> 8) & 0xfffL));
    }

    public static int minor(long dev) {
        return (int) (((dev >>> 12) & 0xffffff00L) | (dev & 0xffL));
    }
}
