package dev.vessel.provisioner;

import dev.vessel.core.model.ImageReference;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.image.ImageLoader;
import dev.vessel.provisioner.image.Layer;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.layer.FileTrees;
import dev.vessel.provisioner.layer.LayerStore;
import dev.vessel.provisioner.rootfs.RootfsPaths;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import dev.vessel.provisioner.store.ImageIndex;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the image store takes on disk ({@code vessel system df}): each named image (its blobs and unpacked
 * layers, shared ones counted in each image as podman does), the store's totals, what a prune of every image
 * no container uses followed by a garbage collection would free, and each provisioned container's own writes.
 *
 * @param reclaimableBytes the store's bytes that no container's image and no other blob holder keeps
 * @param containerBytes   per provisioned container, the bytes its rootfs holds of its own (an overlay's upper
 *                         directory, a copied tree), never its image's
 */
public record DiskUsage(List<Image> images, int blobs, long blobBytes, int layers, long layerBytes,
        long reclaimableBytes, Map<String, Long> containerBytes) {

    /** One named image; {@code inUse}: a provisioned container is built on it. */
    public record Image(String reference, String manifestDigest, long sizeBytes, boolean inUse) {
    }

    static DiskUsage measure(RuntimePaths paths, BlobStore blobs, LayerStore layers, ImageIndex index,
            ImageLoader loader, Set<Digest> manifestsInUse, Set<Digest> heldBlobs) throws IOException {
        Map<Digest, Long> blobSizes = new HashMap<>();
        long blobBytes = 0;
        for (Digest blob : blobs.list()) {
            long size = blobs.size(blob);
            blobSizes.put(blob, size);
            blobBytes += size;
        }
        Map<String, Long> layerSizes = new HashMap<>();
        long layerBytes = 0;
        for (String diffId : layers.list()) {
            long size = layers.size(diffId);
            layerSizes.put(diffId, size);
            layerBytes += size;
        }
        List<Image> images = new ArrayList<>();
        for (ImageIndex.Entry entry : index.list()) {
            Reach reach = reach(blobs, loader, entry.manifest());
            long size = reach.blobs.stream().mapToLong(b -> blobSizes.getOrDefault(b, 0L)).sum()
                    + reach.layers.stream().mapToLong(l -> layerSizes.getOrDefault(l, 0L)).sum();
            images.add(new Image(entry.reference(), entry.manifestDigest(), size, manifestsInUse.contains(entry.manifest())));
        }
        Set<Digest> keptBlobs = new HashSet<>(heldBlobs);
        Set<String> keptLayers = new HashSet<>();
        for (Digest manifest : manifestsInUse) {
            Reach reach = reach(blobs, loader, manifest);
            keptBlobs.addAll(reach.blobs);
            keptLayers.addAll(reach.layers);
        }
        long kept = keptBlobs.stream().mapToLong(b -> blobSizes.getOrDefault(b, 0L)).sum()
                + keptLayers.stream().mapToLong(l -> layerSizes.getOrDefault(l, 0L)).sum();
        Map<String, Long> containers = new LinkedHashMap<>();
        Set<Path> mountPoints = mountPoints();
        for (String id : RootfsPaths.containerIds(paths)) {
            Path dir = paths.provisionedRootfsDir(id);
            // a bind of a layer shares the layer's device: only the mount table tells it from a copy
            containers.put(id, Files.isDirectory(RootfsPaths.overlayDir(dir)) ? FileTrees.sizeOnItsDevice(RootfsPaths.overlayDir(dir))
                    : mountPoints.contains(RootfsPaths.rootfsDir(dir).toAbsolutePath()) ? 0
                    : FileTrees.sizeOnItsDevice(dir));
        }
        return new DiskUsage(List.copyOf(images), blobSizes.size(), blobBytes, layerSizes.size(), layerBytes,
                Math.max(0, blobBytes + layerBytes - kept), containers);
    }

    /** This mount namespace's mount points ({@code /proc/self/mountinfo}'s fifth field, octal escapes undone). */
    private static Set<Path> mountPoints() throws IOException {
        Set<Path> points = new HashSet<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] fields = line.split(" ");
            if (fields.length > 4) {
                points.add(Path.of(unescape(fields[4])));
            }
        }
        return points;
    }

    private static String unescape(String field) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length()) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private record Reach(Set<Digest> blobs, Set<String> layers) {
    }

    /** The blobs and unpacked layers of one image; nothing when its manifest is gone. */
    private static Reach reach(BlobStore blobs, ImageLoader loader, Digest manifest) throws IOException {
        Set<Digest> reached = new HashSet<>();
        Set<String> layers = new HashSet<>();
        if (blobs.has(manifest)) {
            PulledImage image = loader.load(ImageReference.newBuilder().setRepository("df").build(), manifest);
            reached.add(manifest);
            reached.add(image.configDigest());
            image.layers().stream().map(Layer::digest).forEach(reached::add);
            image.diffIds().forEach(d -> layers.add(d.toString()));
        }
        return new Reach(reached, layers);
    }
}
