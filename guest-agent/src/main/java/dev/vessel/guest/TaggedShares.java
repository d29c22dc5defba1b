package dev.vessel.guest;

import dev.vessel.core.paths.Trees;
import dev.vessel.linux.Mounts;
import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The host's shares, by tag (libvirt's {@code <filesystem><target dir=.../>}): virtio-9p shares, and a
 * virtio-fs device. The kernel lets a virtio-9p channel be mounted once at a time (a second mount of a
 * tag fails with EBUSY), and a pod's guest runs a task per member from one share: so each tag is mounted
 * once, in {@code tagsDir}, for the guest's life, and each user gets a bind mount of it.
 */
final class TaggedShares implements HostShare {
    /**
     * The largest 9p message: bigger messages mean fewer round trips through QEMU per read; the
     * virtio transport of 6.1 kernels caps it just under 512 KiB.
     */
    static final int MSIZE = 262144;

    private final Path tagsDir;
    /** The tags mounted in {@link #tagsDir} (guarded by this). */
    private final Set<String> mounted = new HashSet<>();

    TaggedShares(Path tagsDir) {
        this.tagsDir = tagsDir;
    }

    @Override
    public void mount(String tag, Kind kind, Path target, boolean readOnly) throws IOException {
        bind(tagMount(tag, kind), target, readOnly, Mounts.linked());
    }

    /**
     * Binds {@code source} on {@code target}, read-only with {@code readOnly}: through mount(2)'s downcall once this
     * JVM has linked it ({@code linked}: a warm guest's warm-up has), else through mount(8). A cold guest's first task
     * would otherwise start the FFM linker on its path, about half a second of its interpreted JVM under TCG, where
     * a mount(8) process costs tens of milliseconds. The share's own mount goes the same way (see {@link #tagMount}).
     */
    static void bind(Path source, Path target, boolean readOnly, boolean linked) throws IOException {
        if (linked) {
            Mounts.mount(source.toString(), target, null, Mounts.MS_BIND, null);
            if (readOnly) {
                Mounts.mount(null, target, null, Mounts.MS_BIND | Mounts.MS_REMOUNT | Mounts.MS_RDONLY, null);
            }
        } else {
            mountCommand("-o", "bind", source.toString(), target.toString());
            if (readOnly) {
                mountCommand("-o", "remount,bind,ro", target.toString());
            }
        }
    }

    @Override
    public void mountAhead(String tag, Kind kind) throws IOException {
        tagMount(tag, kind);
    }

    /** Where {@code tag} is mounted, mounting it the first time. */
    private synchronized Path tagMount(String tag, Kind kind) throws IOException {
        Path dir = tagsDir.resolve(tag);
        if (mounted.add(tag)) {
            try {
                Trees.createDirectories(dir);
                String fsType = kind == Kind.VIRTIO_FS ? "virtiofs" : "9p";
                String options = kind == Kind.VIRTIO_FS ? null : "trans=virtio,version=9p2000.L,msize=" + MSIZE;
                if (Mounts.linked()) {
                    Mounts.mount(tag, dir, fsType, 0, options);
                } else if (options != null) {
                    mountCommand("-t", fsType, "-o", options, tag, dir.toString());
                } else {
                    mountCommand("-t", fsType, tag, dir.toString());
                }
            } catch (IOException | RuntimeException e) {
                mounted.remove(tag);
                throw e;
            }
        }
        return dir;
    }

    @Override
    public void unmount(Path target) throws IOException {
        Mounts.unmountTree(target);
    }

    /** Runs mount(8) with {@code args}; fails with what it printed. */
    private static void mountCommand(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("mount"));
        command.addAll(List.of(args));
        Process mount = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String output = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            if (mount.waitFor() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + output);
            }
        } catch (InterruptedException e) {
            mount.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(String.join(" ", command) + " was interrupted");
        }
    }
}
