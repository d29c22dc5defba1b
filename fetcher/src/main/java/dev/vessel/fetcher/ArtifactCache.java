package dev.vessel.fetcher;

import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.FetchUri;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.limits.CappedInputStream;
import dev.vessel.provisioner.store.BlobHolder;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Every fetched artifact, whatever its scheme, cached the same way: its bytes in the provisioner's
 * content-addressed {@link BlobStore} (digest computed while streaming), and a {@link UriIndex}
 * (URI → digest and validator) under {@code <state>/fetcher/}. The policy:
 * <ul>
 *   <li>With {@code expected_digest} and that blob present, the origin is not contacted at all.
 *   <li>Without it, the origin is always asked again, with the recorded validator, so a changed
 *       artifact is seen and an unchanged one is not downloaded again. When the origin cannot be
 *       reached and the URI was fetched before, that copy is used with a warning: a prefetch is
 *       then enough to start containers offline.
 *   <li>{@code max_size_bytes} stops the download as soon as it is passed. A failed download, a
 *       size past the cap or a digest mismatch leaves nothing in the cache.
 * </ul>
 * The blobs the URI index points at are held: the provisioner's garbage collection keeps them.
 */
public final class ArtifactCache implements BlobHolder {
    private static final System.Logger LOG = System.getLogger(ArtifactCache.class.getName());
    /** Same prefix as {@link AtomicFiles}' temporaries, so its sweep removes what a crash left. */
    private static final String TEMP_PREFIX = ".tmp-";
    /** What an artifact fetched without an expected digest is stored under. */
    private static final String DEFAULT_ALGORITHM = "sha256";

    private final BlobStore blobs;
    private final UriIndex index;
    private final Path downloads;

    public ArtifactCache(RuntimePaths paths) {
        this.blobs = new BlobStore(paths);
        this.index = new UriIndex(paths.fetcherUrisDir());
        this.downloads = paths.fetcherDownloadsDir();
    }

    /** Blobs the URI index points at. */
    @Override
    public Set<Digest> heldBlobs() throws IOException {
        return index.blobs();
    }

    /** Removes downloads a crash interrupted; call at start-up, before any fetch. Returns how many. */
    public int sweepTemporaries() throws IOException {
        return AtomicFiles.removeStaleTemporaries(downloads);
    }

    /** The cached file of a blob {@link #get} returned; never to be handed out writable. */
    Path path(Digest digest) {
        return blobs.path(digest);
    }

    /** A cached artifact; {@code fromCache}: nothing was downloaded to have it. */
    record Cached(Digest digest, long size, boolean fromCache) {
    }

    /** Makes {@code u}'s content present in the blob store, asking {@code origin} only when needed. */
    Cached get(FetchUri u, Origin origin) throws IOException, InterruptedException {
        String uri = u.getUri();
        Digest expected = u.getExpectedDigest().isEmpty() ? null : Digest.parse(uri, u.getExpectedDigest());
        if (expected != null && blobs.has(expected)) {
            return cached(expected, true);
        }
        Optional<UriIndex.Entry> known = expected != null ? Optional.empty()
                : index.lookup(uri).filter(e -> blobs.has(e.blob()));
        Origin.Response response;
        try {
            response = origin.open(URI.create(uri), known);
        } catch (IOException e) {
            if (known.isEmpty()) {
                throw new VesselException(ErrorCode.UNAVAILABLE, uri, "cannot reach '" + uri + "': " + describe(e), e);
            }
            LOG.log(Level.WARNING, "cannot reach ''{0}'' ({1}); using the copy fetched at {2}",
                    uri, describe(e), known.get().fetchedAt());
            return cached(known.get().blob(), true);
        }
        return switch (response) {
            case Origin.NotModified notModified -> cached(known.orElseThrow().blob(), true);
            case Origin.Body body -> cached(store(u, expected, body), false);
        };
    }

    private Cached cached(Digest digest, boolean fromCache) throws IOException {
        return new Cached(digest, blobs.size(digest), fromCache);
    }

    private Digest store(FetchUri u, Digest expected, Origin.Body body) throws IOException {
        String uri = u.getUri();
        long cap = u.getMaxSizeBytes();
        try (InputStream in = new CappedInputStream(body.content(), cap, () -> {
            throw tooLarge(uri, cap);
        })) {
            if (cap > 0 && body.length() > cap) {
                throw tooLarge(uri, cap); // announced: no need to start the download
            }
            Digest digest = expected != null ? storeVerified(uri, expected, in) : storeUnverified(in);
            index.record(uri, digest, body.validator());
            return digest;
        }
    }

    /** The blob store checks the digest while it writes and keeps nothing on a mismatch. */
    private Digest storeVerified(String uri, Digest expected, InputStream in) throws IOException {
        try {
            blobs.ensure(expected, -1, () -> in);
            return expected;
        } catch (VesselException e) {
            if (e.code() != ErrorCode.DATA_LOSS) {
                throw e;
            }
            throw new VesselException(ErrorCode.DATA_LOSS, uri, "'" + uri + "' does not match expected_digest: "
                    + e.getMessage(), e);
        }
    }

    /**
     * The digest is known only at the end, and the blob store files blobs under their digest: the
     * download goes to a temporary file first and is then stored (one extra local copy).
     */
    private Digest storeUnverified(InputStream in) throws IOException {
        Files.createDirectories(downloads);
        Path temp = downloads.resolve(TEMP_PREFIX + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            MessageDigest hasher = Digest.newHasher(DEFAULT_ALGORITHM);
            long size;
            try (OutputStream out = Files.newOutputStream(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                size = new DigestInputStream(in, hasher).transferTo(out);
            }
            Digest digest = Digest.of(DEFAULT_ALGORITHM, hasher);
            blobs.ensure(digest, size, () -> Files.newInputStream(temp));
            return digest;
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static VesselException tooLarge(String uri, long cap) {
        return new VesselException(ErrorCode.FAILED_PRECONDITION, uri,
                "'" + uri + "' is larger than max_size_bytes (" + cap + " bytes); nothing was cached");
    }

    private static String describe(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
