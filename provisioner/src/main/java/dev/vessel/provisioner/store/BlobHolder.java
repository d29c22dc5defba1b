package dev.vessel.provisioner.store;

import java.io.IOException;
import java.util.HashSet;
import java.util.Set;

/**
 * Something outside the image store that keeps its content in the {@link BlobStore} (the fetcher's
 * artifact cache, the long-lived VMs' base images): garbage collection keeps the blobs it holds, which
 * no image references.
 */
@FunctionalInterface
public interface BlobHolder {
    /** Holds nothing: for a node without such a user of the blob store. */
    BlobHolder NONE = Set::of;

    /** The blobs held now; read at each collection, under the provisioner's exclusive lock. */
    Set<Digest> heldBlobs() throws IOException;

    /** What any of {@code holders} holds. */
    static BlobHolder allOf(BlobHolder... holders) {
        return () -> {
            Set<Digest> held = new HashSet<>();
            for (BlobHolder holder : holders) {
                held.addAll(holder.heldBlobs());
            }
            return held;
        };
    }
}
