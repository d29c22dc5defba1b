package dev.vessel.provisioner.rootfs;

import java.nio.file.Path;
import java.util.List;

/**
 * Assembles a container's root filesystem from unpacked layer diffs (see
 * {@code dev.vessel.provisioner.layer.LayerStore}), in the container's own directory. Failures are
 * {@link dev.vessel.core.error.VesselException}s naming the container.
 */
public interface RootfsBackend {
    /** Builds the rootfs from the layers, bottom layer first, and returns its path. */
    Path assemble(String containerId, List<Path> layerDiffsBottomToTop, Path containerDir);

    /** Takes the rootfs apart: unmounts it and deletes what the container wrote; the layers stay. Idempotent. */
    void remove(String containerId, Path containerDir);

    /** The name configuration uses: "overlay", "copy" or "bind". */
    String name();
}
