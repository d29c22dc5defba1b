package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few process and file-descriptor system calls Java has no API for, through the FFM API. Each
 * call captures errno and fails with an {@link ErrnoException} naming what was attempted.
 */
public final class LibC {
    public static final int SIGKILL = 9;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int O_RDONLY = 0;
    public static final int O_CLOEXEC = 0x80000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final long SYS_PIDFD_OPEN = 434; // the same on x86_64 and aarch64 (new syscalls share numbers)
    private static final short POLLIN = 0x1;

    private static final MethodHandle SYSCALL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(1));
    private static final MethodHandle POLL = downcall("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle KILL = downcall("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle EVENTFD = downcall("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle READ = downcall("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle OPEN = downcall("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SYNC = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("sync"),
            FunctionDescriptor.ofVoid());
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("strerror"), FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private LibC() {
    }

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), descriptor,
                Linker.Option.captureCallState("errno"));
    }

    /** sync(2): writes every filesystem's dirty data to its device; returns once that is done, never fails. */
    public static void sync() {
        try {
            SYNC.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("sync downcall failed", t);
        }
    }

    /** Sends {@code signal} to {@code pid}. */
    public static void kill(long pid, int signal) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = (int) KILL.invokeExact(state, (int) pid, signal);
            if (rc != 0) {
                throw new ErrnoException("kill " + pid + " with signal " + signal, (int) ERRNO.get(state, 0L));
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("kill downcall failed", t);
        }
    }

    /** A pidfd for {@code pid}; it becomes readable when that process exits. */
    public static int pidfdOpen(long pid) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long fd = (long) SYSCALL.invokeExact(state, SYS_PIDFD_OPEN, (int) pid, 0);
            if (fd < 0) {
                throw new ErrnoException("pidfd_open " + pid, (int) ERRNO.get(state, 0L));
            }
            return (int) fd;
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("pidfd_open downcall failed", t);
        }
    }

    /** Blocks until {@code fd} is readable. A native wait: call it from a platform thread. */
    public static void awaitReadable(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment pollfd = arena.allocate(8, 4); // struct pollfd { int fd; short events, revents; }
            pollfd.set(JAVA_INT, 0, fd);
            pollfd.set(JAVA_SHORT, 4, POLLIN);
            while (true) {
                int rc = (int) POLL.invokeExact(state, pollfd, 1L, -1);
                if (rc >= 0) {
                    return;
                }
                int errno = (int) ERRNO.get(state, 0L);
                if (errno != EINTR) {
                    throw new ErrnoException("poll " + fd, errno);
                }
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("poll downcall failed", t);
        }
    }

    /** A new eventfd (see eventfd(2)); the caller closes it with {@link #close}. */
    public static int eventfd(int initialValue, int flags) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) EVENTFD.invokeExact(state, initialValue, flags);
            if (fd < 0) {
                throw new ErrnoException("eventfd", (int) ERRNO.get(state, 0L));
            }
            return fd;
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("eventfd downcall failed", t);
        }
    }

    /** Blocks until the eventfd is signalled and returns its counter. Blocks its (platform) thread. */
    public static long readEventfd(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment buf = arena.allocate(JAVA_LONG);
            long n = (long) READ.invokeExact(state, fd, buf, 8L);
            if (n != 8) {
                throw new ErrnoException("read eventfd " + fd, n < 0 ? (int) ERRNO.get(state, 0L) : 5 /* EIO */);
            }
            return buf.get(JAVA_LONG, 0);
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("read downcall failed", t);
        }
    }

    /** Opens a file and returns the raw descriptor (for kernel interfaces that want an fd number). */
    public static int open(String path, int flags) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags);
            if (fd < 0) {
                throw new ErrnoException("open " + path, (int) ERRNO.get(state, 0L));
            }
            return fd;
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("open downcall failed", t);
        }
    }

    public static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            int ignored = (int) CLOSE.invokeExact(arena.allocate(CALL_STATE), fd);
        } catch (Throwable t) {
            throw new IllegalStateException("close downcall failed", t);
        }
    }

    /** The C library's words for an errno value. */
    public static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
