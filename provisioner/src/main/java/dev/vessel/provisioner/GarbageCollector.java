package dev.vessel.provisioner;

import dev.vessel.core.model.ImageReference;
import dev.vessel.provisioner.image.ImageLoader;
import dev.vessel.provisioner.image.Layer;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.layer.LayerStore;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import dev.vessel.provisioner.store.ImageIndex;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;

/**
 * Mark and sweep over the stores: everything reachable from a named image or from a container's
 * rootfs is kept (its manifest, config, layer blobs and unpacked layers), as are the blobs another
 * {@link dev.vessel.provisioner.store.BlobHolder} holds (the fetcher's cached artifacts); the rest is deleted.
 * Runs under the provisioner's exclusive lock, so nothing is being provisioned meanwhile.
 */
public final class GarbageCollector {
    /** What a collection removed. */
    public record Report(int blobsRemoved, int layersRemoved, long bytesFreed) {
    }

    private final BlobStore blobs;
    private final LayerStore layers;
    private final ImageIndex index;
    private final ImageLoader loader;

    GarbageCollector(BlobStore blobs, LayerStore layers, ImageIndex index, ImageLoader loader) {
        this.blobs = blobs;
        this.layers = layers;
        this.index = index;
        this.loader = loader;
    }

    Report collect(Set<Digest> manifestsInUse, Set<Digest> heldBlobs) throws IOException {
        Set<Digest> roots = new HashSet<>(manifestsInUse);
        for (ImageIndex.Entry entry : index.list()) {
            roots.add(entry.manifest());
        }
        Set<Digest> liveBlobs = new HashSet<>(heldBlobs);
        Set<String> liveLayers = new HashSet<>();
        for (Digest manifest : roots) {
            if (!blobs.has(manifest)) {
                continue;
            }
            PulledImage image = loader.load(ImageReference.newBuilder().setRepository("gc").build(), manifest);
            liveBlobs.add(manifest);
            liveBlobs.add(image.configDigest());
            image.layers().stream().map(Layer::digest).forEach(liveBlobs::add);
            image.diffIds().forEach(d -> liveLayers.add(d.toString()));
        }
        int blobsRemoved = 0;
        int layersRemoved = 0;
        long freed = 0;
        for (Digest blob : blobs.list()) {
            if (!liveBlobs.contains(blob)) {
                freed += blobs.size(blob);
                blobs.delete(blob);
                blobsRemoved++;
            }
        }
        for (String diffId : layers.list()) {
            if (!liveLayers.contains(diffId)) {
                freed += layers.size(diffId);
                if (layers.delete(diffId)) {
                    layersRemoved++;
                }
            }
        }
        return new Report(blobsRemoved, layersRemoved, freed);
    }
}
