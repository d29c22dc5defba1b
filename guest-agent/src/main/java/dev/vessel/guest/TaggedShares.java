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
     * A 9p share's mount options. {@code cache=mmap} caches only what is mapped, as {@code cache=none} does, but maps
     * it writable and shared too (SQLite's WAL index, LMDB: refused with EINVAL without it) and reads a mapping in
     * with readahead of the message size instead of one 4 KiB request per page fault: a task's exec from its share
     * (busybox's {@code /bin/true}) was 78 requests. Reads, writes and lookups still go to the host each time.
     */
    static final String NINE_P_OPTIONS = "trans=virtio,version=9p2000.L,cache=mmap,msize=" + MSIZE;

    private final Path tagsDir;
    /** The tags mounted in {@link #tagsDir} (guarded by this). */
    private final Set<String> mounted = new HashSet<>();

    TaggedShares(Path tagsDir) {
        this.tagsDir = tagsDir;
    }

    @Override
    public void mount(String tag, Kind kind, Path target, boolean readOnly) throws IOException {
        GuestMounts.bind(tagMount(tag, kind), target, readOnly);
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
                GuestMounts.mount(tag, dir, fsType, false, kind == Kind.VIRTIO_FS ? null : NINE_P_OPTIONS);
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
