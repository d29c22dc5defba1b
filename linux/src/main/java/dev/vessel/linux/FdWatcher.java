package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Tells when descriptors become readable (a pidfd when its process exits, an eventfd when it is
 * signalled), for all of them with one platform thread blocked in epoll_wait(2): a native wait pins a
 * virtual thread's carrier, and a platform thread per watched descriptor costs a thread start on
 * every launch and a thread per running container.
 *
 * <p>Each registration is one-shot. The caller keeps the descriptor: it closes it only once the
 * future completed. Futures complete on virtual threads, never on the
 * watcher's own.
 */
public final class FdWatcher {
    private static final int EPOLL_CLOEXEC = 0x80000;
    private static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_MOD = 3;
    private static final int EPOLLIN = 0x1, EPOLLONESHOT = 1 << 30;
    private static final int EEXIST = 17;
    /** struct epoll_event is packed on x86-64 (u32 events, u64 data: 12 bytes), naturally aligned elsewhere. */
    private static final boolean PACKED = "amd64".equals(System.getProperty("os.arch"));
    private static final long EVENT_SIZE = PACKED ? 12 : 16;
    private static final long DATA_OFFSET = PACKED ? 4 : 8;
    private static final int BATCH = 64;

    private static final MethodHandle EPOLL_CREATE1 =
            ErrnoCalls.downcall("epoll_create1", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle EPOLL_CTL =
            ErrnoCalls.downcall("epoll_ctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle EPOLL_WAIT =
            ErrnoCalls.downcall("epoll_wait", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));

    private static volatile FdWatcher shared;

    private final int epfd;
    private final Map<Integer, CompletableFuture<Void>> pending = new ConcurrentHashMap<>();
    private final ExecutorService completions = Executors.newVirtualThreadPerTaskExecutor();
    /** Why the watcher thread stopped; null while it runs. */
    private volatile IllegalStateException stopped;

    private FdWatcher() throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            epfd = (int) EPOLL_CREATE1.invokeExact(state, EPOLL_CLOEXEC);
            if (epfd < 0) {
                throw new ErrnoException("epoll_create1", ErrnoCalls.errno(state));
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        Thread.ofPlatform().daemon().name("fd-watcher").start(this::run);
    }

    /** The process's watcher, started on first use. */
    public static FdWatcher shared() throws ErrnoException {
        FdWatcher w = shared;
        if (w == null) {
            synchronized (FdWatcher.class) {
                w = shared;
                if (w == null) {
                    shared = w = new FdWatcher();
                }
            }
        }
        return w;
    }

    /** Completes once {@code fd} is readable (at once if it is already); one registration per descriptor at a time. */
    public CompletableFuture<Void> whenReadable(int fd) throws ErrnoException {
        if (stopped != null) {
            throw stopped;
        }
        CompletableFuture<Void> future = new CompletableFuture<>();
        pending.put(fd, future);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            MemorySegment event = arena.allocate(EVENT_SIZE, 4);
            event.set(JAVA_INT, 0, EPOLLIN | EPOLLONESHOT);
            event.set(JAVA_LONG.withByteAlignment(4), DATA_OFFSET, fd);
            int rc = (int) EPOLL_CTL.invokeExact(state, epfd, EPOLL_CTL_ADD, fd, event);
            if (rc < 0 && ErrnoCalls.errno(state) == EEXIST) {
                // still registered from a one-shot that fired: re-arm it
                rc = (int) EPOLL_CTL.invokeExact(state, epfd, EPOLL_CTL_MOD, fd, event);
            }
            if (rc < 0) {
                pending.remove(fd, future);
                throw new ErrnoException("epoll_ctl add fd " + fd, ErrnoCalls.errno(state));
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        return future;
    }

    private void run() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            MemorySegment events = arena.allocate(EVENT_SIZE * BATCH, 8);
            while (true) {
                int n = (int) EPOLL_WAIT.invokeExact(state, epfd, events, BATCH, -1);
                if (n < 0) {
                    if (ErrnoCalls.errno(state) == LibC.EINTR) {
                        continue;
                    }
                    throw new ErrnoException("epoll_wait", ErrnoCalls.errno(state));
                }
                for (int i = 0; i < n; i++) {
                    int fd = (int) events.get(JAVA_LONG.withByteAlignment(4), i * EVENT_SIZE + DATA_OFFSET);
                    CompletableFuture<Void> future = pending.remove(fd);
                    if (future != null) {
                        completions.execute(() -> future.complete(null));
                    }
                }
            }
        } catch (Throwable t) {
            // nothing registered can be told any more: fail every waiter rather than leave it hanging
            stopped = new IllegalStateException("the descriptor watcher stopped", t);
            pending.values().forEach(f -> f.completeExceptionally(stopped));
            throw stopped;
        }
    }
}
