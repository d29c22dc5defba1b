package dev.vessel.fetcher;

import dev.vessel.provisioner.ImageProvisioner;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Every fetcher of this module, sharing one cache, for the node to plug into its containerizer. */
public final class Fetchers {
    /** How the node's fetchers behave; {@code fileRoots}: where file URIs may point. */
    public record Options(Duration connectTimeout, Duration responseTimeout, List<Path> fileRoots) {
        public Options {
            fileRoots = List.copyOf(fileRoots);
        }
    }

    private Fetchers() {
    }

    /**
     * The http/https and file fetchers over {@code cache}, and the image one when the node has an image
     * provisioner (which is to have {@code cache} as its blob holder, so that its garbage collection
     * keeps what was fetched).
     * Called at start-up, before any fetch: it sweeps what interrupted downloads left behind.
     */
    public static List<Prefetcher> all(ArtifactCache cache, Options options, Optional<ImageProvisioner> images)
            throws IOException {
        cache.sweepTemporaries();
        List<Prefetcher> all = new ArrayList<>();
        all.add(new HttpFetcher(cache, options.connectTimeout(), options.responseTimeout()));
        all.add(new FileFetcher(cache, options.fileRoots()));
        images.ifPresent(p -> all.add(new ImageFetcher(p)));
        return List.copyOf(all);
    }
}
