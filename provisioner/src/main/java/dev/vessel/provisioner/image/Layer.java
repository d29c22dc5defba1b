package dev.vessel.provisioner.image;

import dev.vessel.provisioner.layer.LayerCompression;
import dev.vessel.provisioner.store.Digest;

/** One layer of an image, in order from the base: its blob, media type, compression and size. */
public record Layer(Digest digest, String mediaType, LayerCompression compression, long size) {
}
