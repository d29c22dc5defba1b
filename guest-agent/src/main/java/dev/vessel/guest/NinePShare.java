package dev.vessel.guest;

import dev.vessel.core.linux.Mounts;
import java.io.IOException;
import java.nio.file.Path;

/** A virtio-9p share: the tag is libvirt's {@code <filesystem><target dir=.../>}. */
final class NinePShare implements RootfsShare {
    /**
     * The largest 9p message: bigger messages mean fewer round trips through QEMU per read; the
     * virtio transport of 6.1 kernels caps it just under 512 KiB.
     */
    static final int MSIZE = 262144;

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
