package dev.vessel.core.spi;

import dev.vessel.core.model.ImageDefaults;
import java.nio.file.Path;

/** A root filesystem the provisioner assembled for a container, with its image's defaults. */
public record ProvisionedRootfs(Path rootfs, ImageDefaults defaults) {
}
