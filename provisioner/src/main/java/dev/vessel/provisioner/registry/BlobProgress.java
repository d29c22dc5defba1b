package dev.vessel.provisioner.registry;

import dev.vessel.provisioner.store.Digest;

/**
 * Where the fetch of one blob (config or layer) stands.
 *
 * @param totalBytes the size the manifest gives
 */
public record BlobProgress(Digest digest, Phase phase, long bytesDone, long totalBytes) {
    public enum Phase {
        /** Already in the store (or fetched by a concurrent pull): nothing downloaded. */
        PRESENT,
        /** Bytes arriving; sent after each chunk. */
        DOWNLOADING,
        /** Downloaded, verified and stored. */
        DONE
    }

    /** Receives progress; called from the fetching threads, concurrently for different blobs. */
    @FunctionalInterface
    public interface Listener {
        Listener NONE = p -> { };

        void onProgress(BlobProgress progress);
    }
}
