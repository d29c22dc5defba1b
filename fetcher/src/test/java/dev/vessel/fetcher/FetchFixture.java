package dev.vessel.fetcher;

import dev.vessel.core.model.FetchUri;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.store.BlobStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/** A node's fetcher state in a temporary directory, and the checks the fetcher tests share. */
final class FetchFixture {
    final RuntimePaths paths;
    final ArtifactCache cache;
    final HttpFetcher http;

    FetchFixture(Path tmp) {
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        cache = new ArtifactCache(paths);
        http = new HttpFetcher(cache, Duration.ofSeconds(5), Duration.ofSeconds(10));
    }

    static FetchUri.Builder uri(String uri) {
        return FetchUri.newBuilder().setUri(uri);
    }

    static Path sandbox(Path tmp, String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name));
    }

    static List<String> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    int cachedBlobs() throws IOException {
        return new BlobStore(paths).list().size();
    }
}
