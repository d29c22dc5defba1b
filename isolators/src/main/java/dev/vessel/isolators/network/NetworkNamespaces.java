package dev.vessel.isolators.network;

import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.LibC;
import dev.vessel.linux.Mounts;
import dev.vessel.linux.OwnThread;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Persistent network namespaces: a new namespace bind-mounted onto a file, as {@code ip netns add}
 * does, so it lives without any process in it and tasks join it by path.
 *
 * <p>Namespaces belong to threads, and JVM threads are shared. So the namespace is made on a fresh
 * platform thread of its own: it unshares, bind-mounts {@code /proc/thread-self/ns/net} onto the file,
 * returns to its original namespace and ends. Mount namespaces are per process, so the mount is
 * visible to the whole daemon.
 */
final class NetworkNamespaces {
    private static final int CLONE_NEWNET = 0x40000000;
    private static final String THREAD_NETNS = "/proc/thread-self/ns/net";

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle UNSHARE = downcall("unshare",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle SETNS = downcall("setns",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private NetworkNamespaces() {
    }

    /** Creates a new network namespace at {@code file}, which must not exist. */
    static void create(Path file) throws IOException {
        Files.createFile(file);
        try {
            OwnThread.call("netns-" + file.getFileName(), () -> {
                unshareOnto(file);
                return null;
            });
        } catch (IOException e) {
            try {
                remove(file);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** Runs on its own thread, which it leaves in the namespace it started in (or which ends anyway). */
    private static void unshareOnto(Path file) throws IOException {
        int original = LibC.open(THREAD_NETNS, LibC.O_RDONLY | LibC.O_CLOEXEC);
        try {
            call(UNSHARE, "unshare(CLONE_NEWNET)", -1);
            try {
                Mounts.mount(THREAD_NETNS, file, null, Mounts.MS_BIND, null);
            } finally {
                call(SETNS, "setns back to the original network namespace", original);
            }
        } finally {
            LibC.close(original);
        }
    }

    /** True while {@code file} holds a namespace (is a mount point). */
    static boolean isMounted(Path file) throws IOException {
        return Mounts.isMountPoint(file);
    }

    /**
     * Unmounts and removes {@code file}; the namespace dies with its last user. Idempotent: a file
     * that is gone or no longer mounted is fine.
     */
    static void remove(Path file) throws IOException {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return; // none was made (a container without CNI networks): no mount table to read
        }
        if (isMounted(file)) {
            try {
                Mounts.unmount(file, Mounts.MNT_DETACH);
            } catch (ErrnoException e) {
                if (e.errno() != ErrnoException.EINVAL && e.errno() != ErrnoException.ENOENT) {
                    throw e;
                }
            }
        }
        Files.deleteIfExists(file);
    }

    /** unshare(flags) when {@code fd} is negative, else setns(fd, CLONE_NEWNET). */
    private static void call(MethodHandle handle, String what, int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = fd < 0 ? (int) handle.invokeExact(state, CLONE_NEWNET)
                    : (int) handle.invokeExact(state, fd, CLONE_NEWNET);
            if (rc != 0) {
                throw new ErrnoException(what, (int) ERRNO.get(state, 0L));
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(what + ": downcall failed", t);
        }
    }

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), descriptor,
                Linker.Option.captureCallState("errno"));
    }
}
