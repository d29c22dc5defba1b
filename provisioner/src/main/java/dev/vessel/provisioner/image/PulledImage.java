package dev.vessel.provisioner.image;

import dev.vessel.core.model.ImageDefaults;
import dev.vessel.core.model.ImageReference;
import dev.vessel.provisioner.store.Digest;
import java.util.List;

/**
 * An image whose manifest, config and layers are all in the blob store, verified.
 *
 * @param layers  base first
 * @param diffIds digests of the uncompressed layers, same order (from the config's rootfs)
 */
public record PulledImage(ImageReference reference, Digest manifestDigest, Digest configDigest,
                          List<Layer> layers, List<Digest> diffIds, ImageDefaults defaults, Platform platform) {
    public PulledImage {
        layers = List.copyOf(layers);
        diffIds = List.copyOf(diffIds);
    }
}
