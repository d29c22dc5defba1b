package dev.vessel.fetcher;

import dev.vessel.core.model.FetchUri;
import dev.vessel.core.spi.Fetcher;
import dev.vessel.provisioner.store.Digest;

/** A fetcher whose artifacts can be brought into the node's stores ahead of any container. */
public interface Prefetcher extends Fetcher {
    /**
     * Fills the cache for {@code uri} without a sandbox; the checks of a fetch (digest, size cap)
     * apply. Returns the digest of what was cached (for an image, its manifest's).
     */
    Digest prefetch(FetchUri uri) throws Exception;
}
