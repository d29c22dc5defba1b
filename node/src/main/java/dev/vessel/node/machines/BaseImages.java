package dev.vessel.node.machines;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.FetchUri;
import dev.vessel.core.model.MachineRequest;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.fetcher.Prefetcher;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Where a VM's base image comes from: a local file, used as it is, or an http(s) URL, fetched once
 * through the unified fetcher into the node's content-addressed store (its digest checked when given,
 * recorded when not) and booted from there, read-only, as the backing file of every VM made from it.
 * {@link MachineRecords} holds those blobs against garbage collection.
 */
public final class BaseImages {
    private static final Set<String> FETCHED_SCHEMES = Set.of("http", "https");

    private final Map<String, Prefetcher> fetchers = new HashMap<>();
    private final BlobStore blobs;

    /** {@code fetchers}: the node's, of which those serving http and https are used. */
    public BaseImages(RuntimePaths paths, List<Prefetcher> fetchers) {
        this.blobs = new BlobStore(paths);
        for (Prefetcher fetcher : fetchers) {
            fetcher.schemes().stream().filter(FETCHED_SCHEMES::contains).forEach(s -> this.fetchers.put(s, fetcher));
        }
    }

    static boolean isFetched(MachineRequest request) {
        return FETCHED_SCHEMES.contains(scheme(request.getImage()));
    }

    /**
     * The request as the VM is to be recorded: an image given by URL fetched (or found in the store by
     * its digest) with its digest set; a local one as it was. Refused naming {@code image} or
     * {@code image_digest}.
     */
    MachineRequest resolve(MachineRequest request) throws Exception {
        String image = request.getImage();
        if (!isFetched(request)) {
            if (image.contains("://")) {
                throw VesselException.invalid("image", "'" + image + "': a base image is a local file or an http(s) URL");
            }
            if (!request.getImageDigest().isEmpty()) {
                throw VesselException.invalid("image_digest", "is for an image given by URL; a local file is used as it is");
            }
            return request;
        }
        FetchUri.Builder uri = FetchUri.newBuilder().setUri(image);
        if (!request.getImageDigest().isEmpty()) {
            uri.setExpectedDigest(Digest.parse("image_digest", request.getImageDigest()).toString());
        }
        Prefetcher fetcher = fetchers.get(scheme(image));
        if (fetcher == null) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "image", "this node fetches no " + scheme(image)
                    + " URLs");
        }
        Digest fetched;
        try {
            fetched = fetcher.prefetch(uri.build());
        } catch (VesselException e) {
            // the fetcher names the URI; the caller's field is this one
            throw new VesselException(e.code(), e.code() == ErrorCode.DATA_LOSS ? "image_digest" : "image",
                    e.getMessage(), e);
        }
        return request.toBuilder().setImageDigest(fetched.toString()).build();
    }

    /** The file a recorded VM boots from. */
    Path path(MachineRequest recorded) {
        return isFetched(recorded) ? blobs.path(Digest.parse("image_digest", recorded.getImageDigest()))
                : Path.of(recorded.getImage());
    }

    private static String scheme(String image) {
        try {
            String scheme = URI.create(image).getScheme();
            return scheme == null ? "" : scheme.toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return "";
        }
    }
}
