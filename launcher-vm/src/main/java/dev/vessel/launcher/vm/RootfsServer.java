package dev.vessel.launcher.vm;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.Trees;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.LibC;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The file server of a VM task whose {@code host_rootfs} keeps its owners ({@code vm.keep_rootfs_owners}, an
 * OCI bundle's rootfs): QEMU 7.2's {@code virtiofsd}, serving the directory to the guest by virtio-fs, as
 * the root of a user namespace of its own that maps every id to itself. Through it the guest's root acts on
 * the directory as a process container's root would under runc (owners, modes and setuid bits as it gives
 * them, other owners' 0700 directories read), while the server has no capability over the host's kernel:
 * its capabilities are its namespace's, so it makes no device node (the kernel refuses mknod there), mounts
 * nothing but in its own mount namespace ({@code sandbox=namespace}: pivoted into the directory, a pid and a
 * network namespace of its own) and runs under virtiofsd's own seccomp filter. The lock file virtiofsd keeps
 * in {@code /run/virtiofsd} goes to a tmpfs of the server's own mount namespace, so nothing of it stays. (A
 * namespace mapping the ids to an unprivileged block over an idmapped view would take even the ids away, but
 * an engine's rootfs is an overlayfs mount, which cannot be idmapped.)
 *
 * <p>Its directory ({@code RuntimePaths.rootfsServerDir}) holds the server's log, the name of the socket QEMU
 * connects to ({@code socket}; the socket is there too unless its path would be too long) and the namespace's
 * identity ({@code userns}, its nsfs link), by which {@link #stop} finds the server again, also after a
 * restart.
 */
final class RootfsServer {
    static final Path VIRTIOFSD = Path.of("/usr/lib/qemu/virtiofsd");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    /** Where virtiofsd keeps a lock file per socket; the server mounts a tmpfs of its own there, so none stays. */
    private static final Path LOCK_DIR = Path.of("/run/virtiofsd");
    /** Run in the server's own mount namespace, as its root, before virtiofsd takes its place. */
    private static final String PRIVATE_LOCK_DIR = "mount -t tmpfs -o mode=0700,size=64k vessel-virtiofsd " + LOCK_DIR
            + " && exec \"$@\"";
    /** Every id to itself: a uid_map line of the whole 32-bit range (the last id is never mapped). */
    private static final String IDENTITY_MAP = "0 0 4294967295\n";

    private RootfsServer() {
    }

    /**
     * Starts the server of {@code rootfs} in {@code dir} (which must not exist) and returns once it listens on
     * {@code socket} (only its owner may connect yet: {@code QemuAccess.grantFileServer} lets QEMU in). On failure
     * nothing is left.
     */
    static void start(Path dir, Path socket, Path rootfs) throws IOException, InterruptedException {
        if (!Files.isExecutable(VIRTIOFSD)) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "vm.keep_rootfs_owners", VIRTIOFSD
                    + " is missing: the guest reaches this rootfs through virtio-fs (install qemu-system-common)");
        }
        Files.createDirectory(dir);
        try {
            Files.writeString(dir.resolve("socket"), socket.toString());
            Files.createDirectories(socket.getParent());
            Files.deleteIfExists(socket);
            // the namespace's holder: unshare makes it, then waits on its stdin (ours: it ends with us)
            Process holder = new ProcessBuilder("unshare", "--user", "--", "cat")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try {
                Path userns = awaitNamespace(holder);
                Files.writeString(dir.resolve("userns"), Files.readSymbolicLink(userns).toString());
                Files.writeString(Path.of("/proc", Long.toString(holder.pid()), "uid_map"), IDENTITY_MAP);
                Files.writeString(Path.of("/proc", Long.toString(holder.pid()), "gid_map"), IDENTITY_MAP);
                Files.createDirectories(LOCK_DIR);
                Process server = new ProcessBuilder("nsenter", "--user=" + userns, "--setuid=0", "--setgid=0",
                        "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", PRIVATE_LOCK_DIR, "sh",
                        VIRTIOFSD.toString(), "--socket-path=" + socket, "-o", "source=" + rootfs, "-o",
                        "sandbox=namespace", "-o", "cache=auto", "-o", "xattr", "--rlimit-nofile=0")
                        .redirectErrorStream(true).redirectOutput(dir.resolve("virtiofsd.log").toFile()).start();
                awaitSocket(dir, socket, server); // the holder stays until then: nsenter joins its namespace by path
            } finally {
                holder.destroyForcibly();
            }
        } catch (IOException | RuntimeException | Error e) {
            try {
                stop(dir);
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** Stops the server in {@code dir} and removes the directory. Idempotent; nothing there is no error. */
    static void stop(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Path recorded = dir.resolve("userns");
        if (Files.isRegularFile(recorded)) {
            String userns = Files.readString(recorded);
            long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
            for (List<Long> left = servers(userns); !left.isEmpty(); left = servers(userns)) {
                if (System.nanoTime() > deadline) {
                    throw new VesselException(ErrorCode.INTERNAL, "vm", "the rootfs file server in " + dir
                            + " did not end: processes " + left);
                }
                for (long pid : left) {
                    try {
                        LibC.kill(pid, LibC.SIGKILL);
                    } catch (ErrnoException e) {
                        // gone meanwhile
                    }
                }
                LockSupport.parkNanos(Duration.ofMillis(20).toNanos()); // a teardown is not interrupted halfway
            }
        }
        Path socketName = dir.resolve("socket");
        if (Files.isRegularFile(socketName)) {
            Files.deleteIfExists(Path.of(Files.readString(socketName)));
        }
        Trees.delete(dir);
    }

    /**
     * The virtiofsd processes in the user namespace {@code userns} (its nsfs link, "user:[…]"): a namespace
     * inode can be reused once its namespace is gone, so a process must also be virtiofsd to be taken for ours.
     */
    private static List<Long> servers(String userns) throws IOException {
        List<Long> pids = new ArrayList<>();
        try (DirectoryStream<Path> proc = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString()
                .chars().allMatch(Character::isDigit))) {
            for (Path p : proc) {
                try {
                    if (Files.readSymbolicLink(p.resolve("ns/user")).toString().equals(userns)
                            && Files.readSymbolicLink(p.resolve("exe")).equals(VIRTIOFSD)) {
                        pids.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // ended while we looked
                }
            }
        }
        return pids;
    }

    /** The holder's user namespace, once it has left ours ({@code unshare} runs before it execs). */
    private static Path awaitNamespace(Process holder) throws IOException, InterruptedException {
        Path own = Files.readSymbolicLink(Path.of("/proc/self/ns/user"));
        Path ns = Path.of("/proc", Long.toString(holder.pid()), "ns", "user");
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (Files.readSymbolicLink(ns).equals(own)) {
            if (!holder.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("unshare --user did not make a user namespace for the rootfs file server");
            }
            Thread.sleep(2);
        }
        return ns;
    }

    /** Until virtiofsd listens; its log tells why it did not. */
    private static void awaitSocket(Path dir, Path socket, Process server) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            if (System.nanoTime() > deadline || !server.isAlive()) {
                server.destroyForcibly();
                Path log = dir.resolve("virtiofsd.log");
                throw new VesselException(ErrorCode.INTERNAL, "vm.keep_rootfs_owners", "the rootfs file server did not"
                        + " listen on " + socket + ": " + (Files.exists(log) ? Files.readString(log).strip() : "no log"));
            }
            Thread.sleep(5);
        }
    }
}
