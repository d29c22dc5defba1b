package dev.vessel.core.spi;

import dev.vessel.core.model.FetchUri;
import java.nio.file.Path;
import java.util.Set;

/** Fetches artifacts of some URI schemes into a container's sandbox. */
public interface Fetcher {
    /**
     * What one fetch put into the sandbox.
     *
     * @param path      the file or directory it created (the sandbox itself for an image, or an archive extracted there)
     * @param digest    the artifact's digest, e.g. "sha256:…"
     * @param sizeBytes the artifact's size (an archive's, not its entries')
     * @param fromCache nothing was downloaded: the node had it already
     */
    record Fetched(Path path, String digest, long sizeBytes, boolean fromCache) {
    }

    /** The URI schemes this fetcher serves, lower case (e.g. "http", "https"). */
    Set<String> schemes();

    /** Fetches {@code uri} into {@code sandbox}. */
    Fetched fetch(FetchUri uri, Path sandbox) throws Exception;
}
