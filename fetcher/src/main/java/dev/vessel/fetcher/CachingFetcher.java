package dev.vessel.fetcher;

import dev.vessel.core.model.FetchUri;
import dev.vessel.provisioner.store.Digest;
import java.nio.file.Path;

/**
 * A fetcher whose artifacts come through the artifact cache from an origin it opens itself (a local
 * file, an HTTP server): prefetching fills the cache, fetching copies the cached blob into the sandbox.
 */
abstract class CachingFetcher implements Prefetcher, Origin {
    private final ArtifactCache cache;
    private final SandboxWriter writer = new SandboxWriter();

    CachingFetcher(ArtifactCache cache) {
        this.cache = cache;
    }

    @Override
    public final Fetched fetch(FetchUri uri, Path sandbox) throws Exception {
        Path target = writer.target(uri, sandbox);
        ArtifactCache.Cached cached = cache.get(uri, this);
        return new Fetched(writer.write(uri, cache.path(cached.digest()), target), cached.digest().toString(),
                cached.size(), cached.fromCache());
    }

    @Override
    public final Digest prefetch(FetchUri uri) throws Exception {
        return cache.get(uri, this).digest();
    }
}
