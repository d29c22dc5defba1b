package dev.vessel.guest;

import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Path;

/** A virtio-9p share: the tag is libvirt's {@code <filesystem><target dir=.../>}. */
final class NinePShare implements HostShare {
    /**
     * The largest 9p message: bigger messages mean fewer round trips through QEMU per read; the
     * virtio transport of 6.1 kernels caps it just under 512 KiB.
     */
    static final int MSIZE = 262144;

    /**
     * Links mount(2) and umount2(2) now, on the thread that builds the guest node, rather than in the
     * first task's launch: their downcalls take a noticeable time to link in an interpreted JVM.
     */
    NinePShare() {
        try {
            Class.forName(Mounts.class.getName(), true, Mounts.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("the guest agent's class path has no " + Mounts.class.getName(), e);
        }
    }

    @Override
    public void mount(String tag, Path target, boolean readOnly) throws IOException {
        Mounts.mount(tag, target, "9p", readOnly ? Mounts.MS_RDONLY : 0,
                "trans=virtio,version=9p2000.L,msize=" + MSIZE);
    }

    @Override
    public void unmount(Path target) throws IOException {
        Mounts.unmountTree(target);
    }
}
