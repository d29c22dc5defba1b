package dev.vessel.provisioner.layer;

import dev.vessel.provisioner.store.Digest;

/**
 * One layer of an image: the digest and media type of its (compressed) blob, from the manifest,
 * and its diff_id (the digest of the uncompressed tar), from the image config; null when unknown.
 */
public record LayerDescriptor(String digest, String mediaType, String diffId) {
    public LayerDescriptor {
        Digest.parse("layer digest", digest);
        LayerCompression.fromMediaType(mediaType);
        if (diffId != null) {
            Digest.parse("layer " + digest + " diff_id", diffId);
        }
    }
}
