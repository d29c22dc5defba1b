package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * A terminal device (the slave side of a pty, a serial port) opened with {@code O_NOCTTY}, so it never
 * becomes the opening process's controlling terminal (and its hang-up never a SIGHUP for a daemon),
 * and non-blocking, so a reader waits with a timeout and notices when its relay's other side went away.
 */
public final class TtyDevice implements AutoCloseable {
    private static final int O_RDWR = 0x2, O_NOCTTY = 0x100, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    private static final short POLLIN = 0x1, POLLOUT = 0x4;
    private static final int EINTR = 4, EIO = 5, EAGAIN = 11;
    private static final MethodHandle READ = ErrnoCalls.downcall("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = ErrnoCalls.downcall("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle POLL = ErrnoCalls.downcall("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private final Path path;
    private final int fd;
    private volatile boolean closed;

    private TtyDevice(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    public static TtyDevice open(Path path) throws ErrnoException {
        return new TtyDevice(path, LibC.open(path.toString(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    }

    /**
     * Reads what the device has, waiting at most {@code timeoutMillis} for something: the number of bytes
     * read, 0 when nothing came in time, -1 once the other side has hung up (a pty whose master closed).
     */
    public int read(byte[] into, int timeoutMillis) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            if (!await(arena, state, POLLIN, timeoutMillis)) {
                return 0;
            }
            MemorySegment buf = arena.allocate(into.length);
            long n = (long) READ.invokeExact(state, fd, buf, (long) into.length);
            if (n > 0) {
                MemorySegment.copy(buf, JAVA_BYTE, 0, into, 0, (int) n);
                return (int) n;
            }
            if (n == 0) {
                return -1;
            }
            int errno = ErrnoCalls.errno(state);
            return switch (errno) {
                case EAGAIN, EINTR -> 0;
                case EIO -> -1; // a pty's slave once its master is closed
                default -> throw new ErrnoException("read " + path, errno);
            };
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** Writes all of {@code data}, waiting while the device's buffer is full. */
    public void write(byte[] data, int offset, int length) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            MemorySegment buf = arena.allocate(Math.max(length, 1));
            MemorySegment.copy(data, offset, buf, JAVA_BYTE, 0, length);
            long done = 0;
            while (done < length) {
                long n = (long) WRITE.invokeExact(state, fd, buf.asSlice(done), (long) length - done);
                if (n >= 0) {
                    done += n;
                    continue;
                }
                int errno = ErrnoCalls.errno(state);
                if (errno == EAGAIN) {
                    await(arena, state, POLLOUT, -1);
                } else if (errno != EINTR) {
                    throw new ErrnoException("write " + path, errno);
                }
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** True once the descriptor is ready for {@code events} (or has hung up); false when the time ran out. */
    private boolean await(Arena arena, MemorySegment state, short events, int timeoutMillis) throws Throwable {
        if (closed) {
            throw new ErrnoException("poll " + path, 9 /* EBADF: closed by this side */);
        }
        MemorySegment pollfd = arena.allocate(8, 4); // struct pollfd { int fd; short events, revents; }
        pollfd.set(JAVA_INT, 0, fd);
        pollfd.set(JAVA_SHORT, 4, events);
        int rc = (int) POLL.invokeExact(state, pollfd, 1L, timeoutMillis);
        if (rc < 0 && ErrnoCalls.errno(state) != EINTR) {
            throw new ErrnoException("poll " + path, ErrnoCalls.errno(state));
        }
        return rc > 0;
    }

    /** Closes the device; call it once no thread reads or writes it any more (the descriptor's number is reused). */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LibC.close(fd);
        }
    }
}
