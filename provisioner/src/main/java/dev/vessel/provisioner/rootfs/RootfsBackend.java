package dev.vessel.provisioner.rootfs;

import dev.vessel.core.model.RootfsLayers;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Assembles a container's root filesystem from unpacked layer diffs (see
 * {@code dev.vessel.provisioner.layer.LayerStore}), in the container's own directory. Failures are
 * {@link dev.vessel.core.error.VesselException}s naming the container.
 */
public interface RootfsBackend {
    /** Builds the rootfs from the layers, bottom layer first, and returns its path. */
    Path assemble(String containerId, List<Path> layerDiffsBottomToTop, Path containerDir);

    /**
     * Prepares the rootfs of a container whose launcher idmaps it, when this backend's rootfs cannot be
     * idmapped as a mount: the overlay's directories are made and described, nothing is mounted.
     * Empty (the default) when {@link #assemble}'s plain directory serves as it is.
     */
    default Optional<Unmounted> assembleUnmounted(String containerId, List<Path> layerDiffsBottomToTop,
            Path containerDir) {
        return Optional.empty();
    }

    /** An overlay rootfs left unmounted: its (empty) mount point and its layers. */
    record Unmounted(Path rootfs, RootfsLayers layers) {
    }

    /**
     * Whether {@link #assemble}'s rootfs shows the layers as they are, read through and never written
     * (an overlay's lower directories): then the layer chain names its content, and what depends only
     * on that content may be cached by it. False (the default) leaves such things to be derived per
     * container; a copy is the container's own to write.
     */
    default boolean showsLayersAsTheyAre() {
        return false;
    }

    /** Takes the rootfs apart: unmounts it and deletes what the container wrote; the layers stay. Idempotent. */
    void remove(String containerId, Path containerDir);

    /** The name configuration uses: "overlay", "copy" or "bind". */
    String name();
}
