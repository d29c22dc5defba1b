package dev.vessel.provisioner;

import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.Trees;
import dev.vessel.core.spi.ImageLayers;
import dev.vessel.core.spi.ProvisionedRootfs;
import dev.vessel.core.spi.Provisioner;
import dev.vessel.provisioner.archive.DockerArchiveSource;
import dev.vessel.provisioner.archive.OciLayoutSource;
import dev.vessel.provisioner.image.ImageLoader;
import dev.vessel.provisioner.image.Layer;
import dev.vessel.provisioner.image.Platform;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.layer.FileTrees;
import dev.vessel.provisioner.layer.LayerDescriptor;
import dev.vessel.provisioner.layer.LayerStore;
import dev.vessel.provisioner.layer.LayerUnpacker;
import dev.vessel.provisioner.limits.ProvisionerLimits;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.registry.BlobProgress;
import dev.vessel.provisioner.registry.Credentials;
import dev.vessel.provisioner.registry.CredentialsProvider;
import dev.vessel.provisioner.registry.PlatformSelector;
import dev.vessel.provisioner.registry.Puller;
import dev.vessel.provisioner.registry.RegistryTransport;
import dev.vessel.provisioner.rootfs.RootfsBackend;
import dev.vessel.provisioner.store.BlobHolder;
import dev.vessel.provisioner.rootfs.RootfsPaths;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import dev.vessel.provisioner.store.ImageIndex;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Image reference to root filesystem: the image from the local store (or pulled / imported when
 * missing, as {@code docker run} does), its layers unpacked once, the rootfs assembled by a backend
 * in {@code <state>/rootfs/<container>}. Each container's directory records which image it uses, so
 * garbage collection never takes an image in use, even across restarts.
 */
public final class ImageProvisioner implements Provisioner {
    private final RuntimePaths paths;
    private final BlobStore blobs;
    private final ImageIndex index;
    private final ImageLoader loader;
    private final Puller puller;
    private final OciLayoutSource ociLayouts;
    private final DockerArchiveSource dockerArchives;
    private final LayerStore layers;
    private final RootfsBackend backend;
    private final BlobHolder otherBlobHolder;
    /** Provisioning holds it shared, garbage collection exclusively. */
    private final ReadWriteLock storeLock = new ReentrantReadWriteLock();

    /** {@code otherBlobHolder}: what else keeps content in this node's blob store, kept by garbage collection. */
    public ImageProvisioner(RuntimePaths paths, CredentialsProvider credentials, RegistryTransport.Options registryOptions,
            RootfsBackend backend, BlobHolder otherBlobHolder) {
        this(paths, credentials, registryOptions, ProvisionerLimits.DEFAULTS, backend, otherBlobHolder);
    }

    /** {@code limits}: how much an image from a registry or archive may cost (its documents, its layers). */
    public ImageProvisioner(RuntimePaths paths, CredentialsProvider credentials, RegistryTransport.Options registryOptions,
            ProvisionerLimits limits, RootfsBackend backend, BlobHolder otherBlobHolder) {
        this.paths = paths;
        this.blobs = new BlobStore(paths);
        this.index = new ImageIndex(paths);
        this.loader = new ImageLoader(blobs, index, limits);
        this.puller = new Puller(new RegistryTransport(credentials, registryOptions, limits), blobs, loader,
                Platform.LINUX_AMD64, 4);
        this.ociLayouts = new OciLayoutSource(blobs, loader, new PlatformSelector(Platform.LINUX_AMD64));
        this.dockerArchives = new DockerArchiveSource(blobs, loader);
        this.layers = new LayerStore(paths, new LayerUnpacker(limits));
        this.backend = backend;
        this.otherBlobHolder = otherBlobHolder;
    }

    /** Fetches the image into the store (always asking the registry for a tag's current manifest). */
    public PulledImage pull(ImageReference reference, BlobProgress.Listener progress) {
        return pull(reference, progress, Optional.empty());
    }

    /**
     * As {@link #pull(ImageReference, BlobProgress.Listener)}; {@code credentials}, when given, are used for this
     * pull from a registry in place of the node's configured ones, and kept nowhere.
     */
    public PulledImage pull(ImageReference reference, BlobProgress.Listener progress, Optional<Credentials> credentials) {
        storeLock.readLock().lock();
        try {
            return switch (reference.getSource()) {
                case OCI_LAYOUT -> ociLayouts.importImage(reference);
                case DOCKER_ARCHIVE -> dockerArchives.importImage(reference);
                default -> credentials.isPresent() ? puller.pull(reference, progress, credentials.get())
                        : puller.pull(reference, progress);
            };
        } catch (IOException e) {
            throw VesselException.internal(ImageReferenceParser.format(reference), "cannot pull: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw VesselException.internal(ImageReferenceParser.format(reference), "pull interrupted", e);
        } finally {
            storeLock.readLock().unlock();
        }
    }

    /** The image from the local store, pulling it only when it is not there. */
    public PulledImage resolve(ImageReference reference) {
        try {
            Optional<PulledImage> local = loader.resolveLocal(reference);
            return local.isPresent() ? local.get() : pull(reference, BlobProgress.Listener.NONE);
        } catch (IOException e) {
            throw VesselException.internal(ImageReferenceParser.format(reference), "cannot read the image store: "
                    + e.getMessage(), e);
        }
    }

    @Override
    public ProvisionedRootfs provision(String containerId, ImageReference reference) throws IOException {
        return provision(containerId, reference, false);
    }

    @Override
    public ProvisionedRootfs provisionUnmounted(String containerId, ImageReference reference) throws IOException {
        return provision(containerId, reference, true);
    }

    private ProvisionedRootfs provision(String containerId, ImageReference reference, boolean unmounted)
            throws IOException {
        PulledImage image = resolve(reference);
        storeLock.readLock().lock();
        try {
            // 0700: a container's rootfs holds the image's setuid programs, which no host user may run
            FileTrees.createPrivateDirectory(paths.provisionedRootfsDir());
            Path dir = paths.provisionedRootfsDir(containerId);
            // recorded before anything is built on it, so a collection running later keeps the image
            AtomicFiles.write(RootfsPaths.imageRecord(dir), image.manifestDigest().toString().getBytes(StandardCharsets.UTF_8));
            List<Path> diffs = new ArrayList<>();
            for (int i = 0; i < image.layers().size(); i++) {
                Layer layer = image.layers().get(i);
                diffs.add(layers.ensure(new LayerDescriptor(layer.digest().toString(), layer.mediaType(),
                        image.diffIds().get(i).toString()), () -> blobs.open(layer.digest())));
            }
            if (unmounted) {
                Optional<RootfsBackend.Unmounted> overlay = backend.assembleUnmounted(containerId, diffs, dir);
                if (overlay.isPresent()) {
                    return new ProvisionedRootfs(overlay.get().rootfs(), image.defaults(),
                            Optional.of(overlay.get().layers()), Optional.empty());
                }
            }
            Path rootfs = backend.assemble(containerId, diffs, dir);
            Optional<ImageLayers> shown = backend.showsLayersAsTheyAre()
                    ? Optional.of(new ImageLayers(new ArrayList<>(diffs).reversed()))
                    : Optional.empty();
            return new ProvisionedRootfs(rootfs, image.defaults(), Optional.empty(), shown);
        } finally {
            storeLock.readLock().unlock();
        }
    }

    @Override
    public void destroy(String containerId) throws IOException {
        Path dir = paths.provisionedRootfsDir(containerId);
        if (Files.exists(dir)) {
            backend.remove(containerId, dir);
            Trees.delete(dir);
        }
    }

    /** Removes the rootfs of every container not listed, and temporary files a crash left in the stores. */
    @Override
    public void recover(Set<String> containerIds) throws IOException {
        for (String id : provisionedContainers()) {
            if (!containerIds.contains(id)) {
                destroy(id);
            }
        }
        blobs.sweepTemporaries();
        layers.sweepTemporaries();
    }

    private List<String> provisionedContainers() throws IOException {
        return RootfsPaths.containerIds(paths);
    }

    /** Manifests of the images containers use now. */
    Set<Digest> manifestsInUse() throws IOException {
        Set<Digest> inUse = new HashSet<>();
        for (String id : provisionedContainers()) {
            try {
                String digest = Files.readString(RootfsPaths.imageRecord(paths.provisionedRootfsDir(id))).trim();
                inUse.add(Digest.parse("rootfs of " + id, digest));
            } catch (NoSuchFileException e) {
                // a crash before the record: nothing was built on any image
            }
        }
        return inUse;
    }

    /** Forgets an image reference; refused while a container uses that image. */
    public void removeImage(ImageReference reference) throws IOException {
        String name = ImageReferenceParser.format(reference);
        storeLock.writeLock().lock();
        try {
            ImageIndex.Entry entry = index.lookup(name)
                    .orElseThrow(() -> VesselException.notFound(name, "no image '" + name + "' on this node"));
            if (manifestsInUse().contains(entry.manifest())) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, name, "image '" + name
                        + "' is used by a container; destroy it first");
            }
            index.remove(name);
        } finally {
            storeLock.writeLock().unlock();
        }
    }

    public List<ImageIndex.Entry> images() throws IOException {
        return index.list();
    }

    /** What the store and the containers' rootfs take on disk ({@link DiskUsage}). */
    public DiskUsage diskUsage() throws IOException {
        storeLock.readLock().lock();
        try {
            return DiskUsage.measure(paths, blobs, layers, index, loader, manifestsInUse(), otherBlobHolder.heldBlobs());
        } finally {
            storeLock.readLock().unlock();
        }
    }

    /** Deletes every blob and layer no image, no container and no other blob holder references; returns what was freed. */
    public GarbageCollector.Report collectGarbage() throws IOException {
        storeLock.writeLock().lock();
        try {
            return new GarbageCollector(blobs, layers, index, loader)
                    .collect(manifestsInUse(), otherBlobHolder.heldBlobs());
        } finally {
            storeLock.writeLock().unlock();
        }
    }
}
