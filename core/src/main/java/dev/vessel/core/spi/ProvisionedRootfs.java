package dev.vessel.core.spi;

import dev.vessel.core.model.ImageDefaults;
import dev.vessel.core.model.RootfsLayers;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A root filesystem the provisioner assembled for a container, with its image's defaults.
 *
 * @param layers present when the rootfs is an overlay the provisioner left unmounted (see
 *               {@link Provisioner#provisionUnmounted}): {@code rootfs} is then an empty directory
 *               and the launcher mounts these layers itself
 * @param imageLayers present when {@code rootfs} is mounted and shows exactly these layers, read
 *                    through (an overlay): what depends only on the image's content can be cached by them
 */
public record ProvisionedRootfs(Path rootfs, ImageDefaults defaults, Optional<RootfsLayers> layers,
        Optional<ImageLayers> imageLayers) {
    public ProvisionedRootfs {
        Objects.requireNonNull(rootfs, "rootfs");
        Objects.requireNonNull(defaults, "defaults");
        Objects.requireNonNull(layers, "layers");
        Objects.requireNonNull(imageLayers, "imageLayers");
    }

    /** A rootfs ready to use at {@code rootfs}, whose content nothing else names. */
    public ProvisionedRootfs(Path rootfs, ImageDefaults defaults) {
        this(rootfs, defaults, Optional.empty(), Optional.empty());
    }
}
