package dev.vessel.fetcher;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Which blob a URI last fetched as: one small JSON file per URI, named by the sha256 of the URI
 * (URIs contain '/' and ':'), written atomically. The bytes themselves live in the blob store.
 */
final class UriIndex {
    /** One fetched URI: the digest of its content and the origin's validator for revalidation. */
    record Entry(String uri, String digest, String validator, String fetchedAt) {
        Digest blob() {
            return Digest.parse("fetcher index " + uri, digest);
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final Path dir;

    UriIndex(Path dir) {
        this.dir = dir;
    }

    void record(String uri, Digest digest, String validator) throws IOException {
        Entry entry = new Entry(uri, digest.toString(), validator, Instant.now().toString());
        AtomicFiles.write(file(uri), MAPPER.writeValueAsBytes(entry));
    }

    Optional<Entry> lookup(String uri) throws IOException {
        Path file = file(uri);
        try {
            return Optional.of(MAPPER.readValue(Files.readAllBytes(file), Entry.class));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (JacksonException e) {
            throw new VesselException(ErrorCode.DATA_LOSS, file.toString(),
                    "fetcher index entry is corrupt: " + e.getOriginalMessage());
        }
    }

    /** The blobs of every indexed URI. */
    Set<Digest> blobs() throws IOException {
        Set<Digest> blobs = new HashSet<>();
        if (!Files.isDirectory(dir)) {
            return blobs;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "*.json")) {
            for (Path file : entries) {
                blobs.add(MAPPER.readValue(Files.readAllBytes(file), Entry.class).blob());
            }
        }
        return blobs;
    }

    private Path file(String uri) {
        return dir.resolve(Digest.sha256(uri.getBytes(StandardCharsets.UTF_8)).hex() + ".json");
    }
}
