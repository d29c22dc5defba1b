package dev.vessel.provisioner.rootfs;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The rootfs as a read-only bind mount of a single layer: no copy, no upper dir, for images of one
 * layer whose tasks write only to volumes. Bind-then-remount, because the kernel ignores
 * MS_RDONLY on the bind itself.
 */
public final class BindBackend implements RootfsBackend {
    @Override
    public String name() {
        return "bind";
    }

    @Override
    public Path assemble(String containerId, List<Path> layerDiffsBottomToTop, Path containerDir) {
        String object = "container " + containerId;
        if (layerDiffsBottomToTop.size() != 1) {
            throw VesselException.invalid(object, "the bind backend takes exactly one layer, the image has "
                    + layerDiffsBottomToTop.size() + ": use the overlay or copy backend");
        }
        Path rootfs = RootfsPaths.rootfs(containerDir);
        try {
            if (Mounts.isMountPoint(rootfs)) {
                throw new VesselException(ErrorCode.ALREADY_EXISTS, object, "a rootfs is already mounted on " + rootfs);
            }
            Files.createDirectories(rootfs);
            Mounts.mount(layerDiffsBottomToTop.getFirst().toString(), rootfs, null, Mounts.MS_BIND, null);
            try {
                Mounts.mount(null, rootfs, null, Mounts.MS_REMOUNT | Mounts.MS_BIND | Mounts.MS_RDONLY, null);
            } catch (IOException e) {
                Mounts.unmount(rootfs, Mounts.MNT_DETACH);
                throw e;
            }
            return rootfs;
        } catch (IOException e) {
            throw new VesselException(ErrorCode.INTERNAL, object, e.getMessage(), e);
        }
    }

    @Override
    public void remove(String containerId, Path containerDir) {
        Path rootfs = RootfsPaths.rootfs(containerDir);
        try {
            Mounts.unmountTree(rootfs);
            Files.deleteIfExists(rootfs); // the bare mount point: the layer behind it is shared
        } catch (IOException e) {
            throw VesselException.internal("container " + containerId, "cannot remove the bind rootfs: "
                    + e.getMessage(), e);
        }
    }
}
