package dev.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Optional;

/** Extended attributes of a path itself, never of a symlink's target (lsetxattr/lgetxattr). */
public final class Xattrs {
    /** Largest value the kernel accepts (XATTR_SIZE_MAX). */
    private static final int MAX_VALUE = 65536;
    private static final MethodHandle LSETXATTR = ErrnoCalls.downcall("lsetxattr", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle LGETXATTR = ErrnoCalls.downcall("lgetxattr", FunctionDescriptor.of(
            ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG));

    private Xattrs() {
    }

    public static void set(Path path, String name, byte[] value) throws ErrnoException {
        int rc;
        int errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            MemorySegment buf = arena.allocate(Math.max(1, value.length));
            MemorySegment.copy(value, 0, buf, ValueLayout.JAVA_BYTE, 0, value.length);
            rc = (int) LSETXATTR.invokeExact(state, arena.allocateFrom(path.toString()), arena.allocateFrom(name),
                    buf, (long) value.length, 0);
            errno = ErrnoCalls.errno(state);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        if (rc != 0) {
            throw new ErrnoException("setxattr " + name + " on " + path, errno);
        }
    }

    /** The attribute's value, or empty when the path does not carry it. */
    public static Optional<byte[]> get(Path path, String name) throws ErrnoException {
        long n;
        int errno;
        byte[] value;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            MemorySegment buf = arena.allocate(MAX_VALUE);
            n = (long) LGETXATTR.invokeExact(state, arena.allocateFrom(path.toString()), arena.allocateFrom(name),
                    buf, (long) MAX_VALUE);
            errno = ErrnoCalls.errno(state);
            value = n < 0 ? null : buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        if (n < 0) {
            if (errno == ErrnoException.ENODATA) {
                return Optional.empty();
            }
            throw new ErrnoException("getxattr " + name + " on " + path, errno);
        }
        return Optional.of(value);
    }
}
