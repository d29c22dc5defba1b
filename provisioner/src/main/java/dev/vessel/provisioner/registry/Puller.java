package dev.vessel.provisioner.registry;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.provisioner.image.Descriptor;
import dev.vessel.provisioner.image.ImageLoader;
import dev.vessel.provisioner.image.Platform;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.limits.CappedReads;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.registry.BlobProgress.Phase;
import dev.vessel.provisioner.registry.ManifestResolver.ResolvedManifest;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Pulls an image from a registry into the blob store: resolves the manifest (through an index for this
 * platform), then fetches the config and layers in parallel, at most {@code parallelism} at a time, skipping
 * blobs already present; every blob is verified by the store. Records the result for a later local resolve.
 */
public final class Puller {
    private final RegistryTransport transport;
    private final PlatformSelector platform;
    private final BlobStore store;
    private final ImageLoader loader;
    private final int parallelism;

    public Puller(RegistryTransport transport, BlobStore store, ImageLoader loader, Platform platform, int parallelism) {
        this.transport = transport;
        this.platform = new PlatformSelector(platform);
        this.store = store;
        this.loader = loader;
        this.parallelism = parallelism;
    }

    /** Pulls with the node's credentials. */
    public PulledImage pull(ImageReference ref, BlobProgress.Listener listener) throws IOException, InterruptedException {
        return pull(ref, listener, transport);
    }

    /**
     * Pulls with {@code credentials} (for the image's registry) in place of the node's: this pull's alone, kept
     * by nothing once it ends.
     */
    public PulledImage pull(ImageReference ref, BlobProgress.Listener listener, Credentials credentials)
            throws IOException, InterruptedException {
        String registry = ref.getRegistry();
        return pull(ref, listener, transport.withCredentials(
                r -> r.equals(registry) ? Optional.of(credentials) : Optional.empty()));
    }

    private PulledImage pull(ImageReference ref, BlobProgress.Listener listener, RegistryTransport transport)
            throws IOException, InterruptedException {
        new PingEndpoint(transport).ping(ref.getRegistry());
        ResolvedManifest resolved = new ManifestResolver(new ManifestEndpoint(transport), platform).resolve(ref);
        BlobEndpoint blobs = new BlobEndpoint(transport);
        String name = ImageReferenceParser.format(ref);
        // Config first, then layers; an image may list one layer twice, fetch it once.
        Map<Digest, Descriptor> wanted = new LinkedHashMap<>();
        Descriptor config = resolved.manifest().config();
        CappedReads.checkDeclared(config.size(), loader.maxDocumentBytes(), name + " config " + config.digest());
        wanted.put(config.parsedDigest(name + " config"), config);
        for (Descriptor layer : resolved.manifest().layers()) {
            wanted.putIfAbsent(layer.parsedDigest(name + " layer"), layer);
        }
        fetchAll(blobs, ref, wanted, listener);
        store.write(resolved.digest(), resolved.content());
        PulledImage image = loader.load(ref, resolved.digest());
        loader.remember(image);
        return image;
    }

    private void fetchAll(BlobEndpoint blobs, ImageReference ref, Map<Digest, Descriptor> wanted,
                          BlobProgress.Listener listener)
            throws IOException, InterruptedException {
        Semaphore slots = new Semaphore(parallelism);
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Void>> futures = new ArrayList<>();
            wanted.forEach((digest, descriptor) -> futures.add(executor.submit(() -> {
                slots.acquire();
                try {
                    fetch(blobs, ref, digest, descriptor.size(), listener);
                } finally {
                    slots.release();
                }
                return null;
            })));
            for (Future<Void> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    futures.forEach(other -> other.cancel(true));
                    throw rethrow(e.getCause());
                }
            }
        }
    }

    private void fetch(BlobEndpoint blobs, ImageReference ref, Digest digest, long size, BlobProgress.Listener listener)
            throws Exception {
        boolean fetched = store.ensure(digest, size, () -> new Progress(open(blobs, ref, digest), digest, size, listener));
        listener.onProgress(new BlobProgress(digest, fetched ? Phase.DONE : Phase.PRESENT, size, size));
    }

    private static InputStream open(BlobEndpoint blobs, ImageReference ref, Digest digest) throws IOException {
        try {
            return blobs.open(ref, digest);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while opening blob " + digest);
        }
    }

    private static IOException rethrow(Throwable cause) throws InterruptedException {
        if (cause instanceof VesselException v) {
            throw v;
        }
        if (cause instanceof InterruptedException i) {
            throw i;
        }
        if (cause instanceof IOException io) {
            return io;
        }
        throw new IllegalStateException(cause);
    }

    /** Reports bytes as the store reads them. */
    private static final class Progress extends FilterInputStream {
        private final Digest digest;
        private final long total;
        private final BlobProgress.Listener listener;
        private long done;

        Progress(InputStream in, Digest digest, long total, BlobProgress.Listener listener) {
            super(in);
            this.digest = digest;
            this.total = total;
            this.listener = listener;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                done += n;
                listener.onProgress(new BlobProgress(digest, Phase.DOWNLOADING, done, total));
            }
            return n;
        }
    }
}
