package dev.vessel.guest;

import dev.vessel.core.paths.Trees;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
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

    /**
     * Links mount(2) and umount2(2) now, on the thread that builds the guest node, rather than in the
     * first task's launch: their downcalls take a noticeable time to link in an interpreted JVM.
     */
    private final Path tagsDir;
    /** The tags mounted in {@link #tagsDir} (guarded by this). */
    private final Set<String> mounted = new HashSet<>();

    TaggedShares(Path tagsDir) {
        this.tagsDir = tagsDir;
        try {
            Class.forName(Mounts.class.getName(), true, Mounts.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("the guest agent's class path has no " + Mounts.class.getName(), e);
        }
    }

    @Override
    public void mount(String tag, Kind kind, Path target, boolean readOnly) throws IOException {
        Mounts.mount(tagMount(tag, kind).toString(), target, null, Mounts.MS_BIND, null);
        if (readOnly) {
            Mounts.mount(null, target, null, Mounts.MS_BIND | Mounts.MS_REMOUNT | Mounts.MS_RDONLY, null);
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
                if (kind == Kind.VIRTIO_FS) {
                    Mounts.mount(tag, dir, "virtiofs", 0, null);
                } else {
                    Mounts.mount(tag, dir, "9p", 0, "trans=virtio,version=9p2000.L,msize=" + MSIZE);
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
}
