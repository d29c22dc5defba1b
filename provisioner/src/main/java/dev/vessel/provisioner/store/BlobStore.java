package dev.vessel.provisioner.store;

import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Content-addressed blobs under {@code blobs/<algorithm>/<hex>}. A blob appears under its name only once
 * its content has been verified against the digest and synced; until then it is a temporary file in the
 * same directory, which {@link #sweepTemporaries()} removes after a crash.
 */
public final class BlobStore {
    /** Same prefix as {@link AtomicFiles}' temporaries, so {@link AtomicFiles#removeStaleTemporaries} sweeps both. */
    private static final String TEMP_PREFIX = ".tmp-";
    private static final int BUFFER = 64 * 1024;

    /** Opens the content of a blob; called only when the blob is really fetched. */
    @FunctionalInterface
    public interface Source {
        InputStream open() throws IOException;
    }

    private final Path root;
    /** Writes in progress, so a second writer of the same digest waits for the first instead of fetching again. */
    private final ConcurrentMap<Digest, CompletableFuture<Void>> inFlight = new ConcurrentHashMap<>();

    public BlobStore(RuntimePaths paths) {
        this.root = paths.blobsDir();
    }

    public Path path(Digest digest) {
        return root.resolve(digest.algorithm()).resolve(digest.hex());
    }

    public boolean has(Digest digest) {
        return Files.isRegularFile(path(digest));
    }

    public long size(Digest digest) throws IOException {
        try {
            return Files.size(path(digest));
        } catch (NoSuchFileException e) {
            throw missing(digest);
        }
    }

    public InputStream open(Digest digest) throws IOException {
        try {
            return Files.newInputStream(path(digest));
        } catch (NoSuchFileException e) {
            throw missing(digest);
        }
    }

    public byte[] read(Digest digest) throws IOException {
        try {
            return Files.readAllBytes(path(digest));
        } catch (NoSuchFileException e) {
            throw missing(digest);
        }
    }

    /** Stores {@code content} read from {@code in}; see {@link #ensure}. */
    public void write(Digest expected, long expectedSize, InputStream in) throws IOException {
        ensure(expected, expectedSize, () -> in);
    }

    public void write(Digest expected, byte[] content) throws IOException {
        ensure(expected, content.length, () -> new ByteArrayInputStream(content));
    }

    /**
     * Makes the blob present: does nothing if it is, waits if another thread is writing it, and otherwise
     * opens {@code source}, streams it to a temporary file while hashing, checks digest and size
     * ({@code expectedSize} &lt; 0: unknown), syncs and renames it into place. A mismatch is DATA_LOSS
     * naming both digests, and leaves nothing behind.
     *
     * @return true when this call fetched the content, false when it was present or written by another
     */
    public boolean ensure(Digest expected, long expectedSize, Source source) throws IOException {
        while (true) {
            if (has(expected)) {
                return false;
            }
            CompletableFuture<Void> mine = new CompletableFuture<>();
            CompletableFuture<Void> other = inFlight.putIfAbsent(expected, mine);
            if (other != null) {
                // The other writer's failure is its own (its source may differ): loop and look again.
                other.exceptionally(e -> null).join();
                continue;
            }
            try {
                if (has(expected)) {
                    return false;
                }
                store(expected, expectedSize, source);
                return true;
            } finally {
                inFlight.remove(expected, mine);
                mine.complete(null);
            }
        }
    }

    private void store(Digest expected, long expectedSize, Source source) throws IOException {
        Path target = path(expected);
        Path dir = target.getParent();
        Files.createDirectories(dir);
        Path temp = dir.resolve(TEMP_PREFIX + expected.hex() + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            MessageDigest hasher = expected.newHasher();
            long size = 0;
            try (InputStream in = source.open();
                 FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                byte[] buf = new byte[BUFFER];
                for (int n; (n = in.read(buf)) > 0; ) {
                    size += n;
                    if (expectedSize >= 0 && size > expectedSize) {
                        throw sizeMismatch(expected, expectedSize, "more than " + expectedSize);
                    }
                    hasher.update(buf, 0, n);
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                    while (bb.hasRemaining()) {
                        out.write(bb);
                    }
                }
                if (expectedSize >= 0 && size != expectedSize) {
                    throw sizeMismatch(expected, expectedSize, Long.toString(size));
                }
                Digest actual = expected.finish(hasher);
                if (!actual.equals(expected)) {
                    throw Digest.mismatch("blob " + expected, expected, actual);
                }
                out.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            AtomicFiles.syncDirectory(dir);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    public void delete(Digest digest) throws IOException {
        Files.deleteIfExists(path(digest));
    }

    /** Every complete blob (for garbage collection). */
    public List<Digest> list() throws IOException {
        List<Digest> digests = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return digests;
        }
        try (DirectoryStream<Path> algorithms = Files.newDirectoryStream(root, Files::isDirectory)) {
            for (Path algorithm : algorithms) {
                try (DirectoryStream<Path> blobs = Files.newDirectoryStream(algorithm)) {
                    for (Path blob : blobs) {
                        String name = blob.getFileName().toString();
                        if (!name.startsWith(".")) {
                            digests.add(new Digest(algorithm.getFileName().toString(), name));
                        }
                    }
                }
            }
        }
        return digests;
    }

    /** Removes what interrupted writes left behind; call at start-up, before any write. Returns how many. */
    public int sweepTemporaries() throws IOException {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        int removed = 0;
        try (DirectoryStream<Path> algorithms = Files.newDirectoryStream(root, Files::isDirectory)) {
            for (Path algorithm : algorithms) {
                removed += AtomicFiles.removeStaleTemporaries(algorithm);
            }
        }
        return removed;
    }

    private static VesselException missing(Digest digest) {
        return VesselException.notFound("blob " + digest, "not in the blob store");
    }

    private static VesselException sizeMismatch(Digest digest, long expected, String actual) {
        return new VesselException(ErrorCode.DATA_LOSS, "blob " + digest,
                "size does not match: expected " + expected + " bytes, got " + actual);
    }
}
