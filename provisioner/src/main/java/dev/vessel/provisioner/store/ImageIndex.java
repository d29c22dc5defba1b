package dev.vessel.provisioner.store;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which image was pulled as which manifest: one small JSON file per reference under {@code images/}, named by
 * the sha256 of the canonical reference (references contain '/' and ':'), written atomically. The manifest,
 * config and layers themselves live in the {@link BlobStore}.
 */
public final class ImageIndex {
    /** One pulled image: its canonical reference and the image manifest (not the index) it resolved to. */
    public record Entry(String reference, String manifestDigest, String pulledAt) {
        public Digest manifest() {
            return Digest.parse("image index " + reference, manifestDigest);
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final Path dir;

    public ImageIndex(RuntimePaths paths) {
        this.dir = paths.imagesDir();
    }

    public void record(String reference, Digest manifest) throws IOException {
        Entry entry = new Entry(reference, manifest.toString(), Instant.now().toString());
        AtomicFiles.write(file(reference), MAPPER.writeValueAsBytes(entry));
    }

    /** The entry for a canonical reference, if that image was pulled. */
    public Optional<Entry> lookup(String reference) throws IOException {
        try {
            return Optional.of(read(file(reference)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    public void remove(String reference) throws IOException {
        Files.deleteIfExists(file(reference));
    }

    /** Every recorded image (for garbage collection: their blobs are live). */
    public List<Entry> list() throws IOException {
        List<Entry> entries = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return entries;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
            for (Path f : files) {
                entries.add(read(f));
            }
        }
        return entries;
    }

    private Entry read(Path file) throws IOException {
        try {
            return MAPPER.readValue(Files.readAllBytes(file), Entry.class);
        } catch (JacksonException e) {
            throw new VesselException(ErrorCode.DATA_LOSS, file.toString(), "image index entry is corrupt: " + e.getOriginalMessage());
        }
    }

    private Path file(String reference) {
        return dir.resolve(Digest.sha256(reference.getBytes(StandardCharsets.UTF_8)).hex() + ".json");
    }
}
