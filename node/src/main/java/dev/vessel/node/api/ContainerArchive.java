package dev.vessel.node.api;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.node.archive.TarCopy;
import dev.vessel.provisioner.layer.FileTrees;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Files into and out of a running process container as tar streams ({@code vessel cp}), seen as its task sees
 * them: through {@code /proc/PID/root}, its root in its mount namespace, volumes included. Paths are resolved
 * there component by component, a symlink's target within that root, never the host's. The container is
 * frozen (paused) while its files are read or written, so no process of its own can swap a directory for a
 * symlink between a check and the access that follows; a paused one stays paused.
 */
final class ContainerArchive {
    private static final int MAX_SYMLINKS = 40;

    private final Containerizer containerizer;

    ContainerArchive(Containerizer containerizer) {
        this.containerizer = containerizer;
    }

    /** An open copy: the task's root on this host, and whether the container was frozen for it. */
    private record Frozen(Path root, String id, boolean paused) {
    }

    /** The tar of {@code path} (a file, a directory tree or a symlink, under its own name), streamed to {@code to}. */
    void read(String id, String path, Exchange ex) throws IOException {
        Frozen frozen = freeze(id);
        try {
            Path source = resolve(frozen.root(), absolute(path), false);
            if (FileTrees.attributes(source) == null) {
                throw VesselException.notFound("path", Quoted.of(path) + ": no such file or directory in container "
                        + Quoted.of(id));
            }
            if (source.equals(frozen.root())) {
                throw VesselException.invalid("path", "the whole root filesystem is not copied: name what is under it");
            }
            String name = source.getFileName().toString();
            ex.startStream("application/x-tar");
            try (OutputStream out = new ChunkedOut(ex)) {
                TarCopy.write(source, name, out);
            }
            ex.end();
        } finally {
            thaw(frozen);
        }
    }

    /**
     * Unpacks {@code tar} at {@code path}: into it when it is a directory, else (its parent a directory) with
     * the archive's top-level name replaced by its last component. Entries belong to the container's root.
     */
    int write(String id, String path, byte[] tar) throws IOException {
        Frozen frozen = freeze(id);
        try {
            String wanted = absolute(path);
            Path target = resolve(frozen.root(), wanted, true);
            BasicFileAttributes attrs = FileTrees.attributes(target);
            String rename = null;
            if (attrs == null || !attrs.isDirectory()) {
                if (attrs != null || target.equals(frozen.root())) {
                    throw VesselException.invalid("path", Quoted.of(path) + " exists and is not a directory");
                }
                rename = target.getFileName().toString();
                target = target.getParent();
                BasicFileAttributes parent = FileTrees.attributes(target);
                if (parent == null || !parent.isDirectory()) {
                    throw VesselException.notFound("path", Quoted.of(path) + ": its parent directory is not in"
                            + " container " + Quoted.of(id));
                }
            }
            Path proc = Path.of("/proc", Long.toString(pidOf(id)));
            return TarCopy.extract(new ByteArrayInputStream(tar), target, rename, rootId(proc.resolve("uid_map")),
                    rootId(proc.resolve("gid_map")), "archive");
        } finally {
            thaw(frozen);
        }
    }

    private Frozen freeze(String id) {
        if (containerizer.config(id).getIsolation() == Isolation.VM) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "isolation", "container " + Quoted.of(id)
                    + " is a VM task: its files are in its guest, which cp does not reach");
        }
        ContainerStatus status = containerizer.status(id);
        if (status.getState() != ContainerState.RUNNING && status.getState() != ContainerState.PAUSED) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, id, "container " + Quoted.of(id) + " is "
                    + status.getState() + "; cp needs it running (its files are seen through its task)");
        }
        boolean pause = status.getState() == ContainerState.RUNNING;
        if (pause) {
            containerizer.pause(id);
        }
        return new Frozen(Path.of("/proc", Long.toString(pidOf(id)), "root"), id, pause);
    }

    private long pidOf(String id) {
        long pid = containerizer.status(id).getPid();
        if (pid <= 0) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, id, "container " + Quoted.of(id) + " has no task");
        }
        return pid;
    }

    private void thaw(Frozen frozen) {
        if (frozen.paused()) {
            containerizer.resume(frozen.id());
        }
    }

    private static String absolute(String path) {
        if (!path.startsWith("/")) {
            throw VesselException.invalid("path", Quoted.of(path) + " must be an absolute path in the container");
        }
        if (path.indexOf('\0') >= 0) {
            throw VesselException.invalid("path", "contains a NUL byte");
        }
        return path;
    }

    /**
     * {@code path} under {@code root}, each symlink met on the way replaced by its target as the task would see
     * it (an absolute target starts again at the root, ".." stops at it); the last component is followed only
     * when {@code followLast}.
     */
    static Path resolve(Path root, String path, boolean followLast) throws IOException {
        Deque<String> left = new ArrayDeque<>(List.of(path.split("/")));
        List<String> done = new ArrayList<>();
        int links = 0;
        while (!left.isEmpty()) {
            String part = left.removeFirst();
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (!done.isEmpty()) {
                    done.removeLast();
                }
                continue;
            }
            Path here = join(root, done).resolve(part);
            BasicFileAttributes attrs = FileTrees.attributes(here);
            if (attrs != null && attrs.isSymbolicLink() && (followLast || !onlyDotsLeft(left))) {
                if (++links > MAX_SYMLINKS) {
                    throw VesselException.invalid("path", "too many symlinks on the way");
                }
                String target = Files.readSymbolicLink(here).toString();
                if (target.startsWith("/")) {
                    done.clear();
                }
                List<String> parts = List.of(target.split("/"));
                for (int i = parts.size() - 1; i >= 0; i--) {
                    left.addFirst(parts.get(i));
                }
                continue;
            }
            done.add(part);
        }
        return join(root, done);
    }

    private static boolean onlyDotsLeft(Deque<String> left) {
        return left.stream().allMatch(p -> p.isEmpty() || p.equals("."));
    }

    private static Path join(Path root, List<String> parts) {
        Path p = root;
        for (String part : parts) {
            p = p.resolve(part);
        }
        return p;
    }

    /** The host id of the task's root, from its uid_map or gid_map; 0 where it has the host's. */
    private static int rootId(Path map) throws IOException {
        for (String line : Files.readAllLines(map)) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3 && f[0].equals("0")) {
                return Integer.parseInt(f[1]);
            }
        }
        throw new VesselException(ErrorCode.FAILED_PRECONDITION, "path", "the container's root has no id on this"
                + " host: files cannot be given to it");
    }

    /** Buffers the tar into 64 KiB chunks of the response; a client gone ends the copy. */
    private static final class ChunkedOut extends OutputStream {
        private final Exchange ex;
        private final byte[] buffer = new byte[64 * 1024];
        private int used;

        ChunkedOut(Exchange ex) {
            this.ex = ex;
        }

        @Override
        public void write(int b) throws IOException {
            if (used == buffer.length) {
                flush();
            }
            buffer[used++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                if (used == buffer.length) {
                    flush();
                }
                int n = Math.min(len, buffer.length - used);
                System.arraycopy(b, off, buffer, used, n);
                used += n;
                off += n;
                len -= n;
            }
        }

        @Override
        public void flush() throws IOException {
            if (used > 0) {
                byte[] chunk = java.util.Arrays.copyOf(buffer, used);
                used = 0;
                if (!ex.write(chunk)) {
                    throw new IOException("the client went away");
                }
            }
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
