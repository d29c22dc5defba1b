package dev.vessel.provisioner.rootfs;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.RootfsLayers;
import dev.vessel.core.paths.Trees;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The rootfs as an overlayfs mount: the layer diffs (already in overlay's whiteout format) are the
 * read-only lower dirs, shared by every container; each container writes to its own upper dir.
 * Mounted {@code nodev}.
 */
public final class OverlayBackend implements RootfsBackend {
    @Override
    public String name() {
        return "overlay";
    }

    @Override
    public boolean showsLayersAsTheyAre() {
        return true;
    }

    @Override
    public Path assemble(String containerId, List<Path> layerDiffsBottomToTop, Path containerDir) {
        String object = "container " + containerId;
        if (layerDiffsBottomToTop.isEmpty()) {
            throw VesselException.invalid(object, "an overlay rootfs needs at least one layer");
        }
        Path rootfs = RootfsPaths.rootfs(containerDir);
        Path upper = RootfsPaths.upper(containerDir);
        Path work = RootfsPaths.work(containerDir);
        try {
            if (Mounts.isMountPoint(rootfs)) {
                throw new VesselException(ErrorCode.ALREADY_EXISTS, object, "a rootfs is already mounted on " + rootfs);
            }
            List<Path> topToBottom = new ArrayList<>(layerDiffsBottomToTop).reversed();
            String data = options(object, topToBottom, upper, work);
            if (data.getBytes(StandardCharsets.UTF_8).length > Mounts.MAX_DATA_BYTES) {
                data = options(object, shortLinks(topToBottom, RootfsPaths.lowerLinks(containerDir)), upper, work);
            }
            int length = data.getBytes(StandardCharsets.UTF_8).length;
            if (length > Mounts.MAX_DATA_BYTES) {
                throw VesselException.invalid(object, layerDiffsBottomToTop.size() + " layers are too many for one"
                        + " overlay mount: its options take " + length + " bytes even with short layer links under "
                        + RootfsPaths.lowerLinks(containerDir) + ", and the kernel takes " + Mounts.MAX_DATA_BYTES
                        + "; use a shorter container directory or the copy backend");
            }
            Files.createDirectories(rootfs);
            Files.createDirectories(upper);
            Files.createDirectories(work);
            // nodev: no device node in the layers or written by the container opens a host device through
            // this mount. Not nosuid: the launcher's bind of the rootfs inherits this mount's flags, and
            // the image's setuid programs (su, ping) must keep working inside the container; the 0700
            // rootfs/ directory keeps host users away from them instead.
            Mounts.mount("overlay", rootfs, "overlay", Mounts.MS_NODEV, data);
            return rootfs;
        } catch (IOException | RuntimeException e) {
            cleanUp(containerDir, e);
            if (e instanceof VesselException v) {
                throw v;
            }
            throw new VesselException(ErrorCode.INTERNAL, object, e.getMessage(), e);
        }
    }

    /**
     * The overlay's directories without the mount: the launcher mounts the layers, idmapped, in the
     * container's own mount namespace (overlayfs itself cannot be idmapped). Each layer is its own
     * file descriptor there, so no option string bounds the layer count.
     */
    @Override
    public Optional<Unmounted> assembleUnmounted(String containerId, List<Path> layerDiffsBottomToTop,
            Path containerDir) {
        String object = "container " + containerId;
        if (layerDiffsBottomToTop.isEmpty()) {
            throw VesselException.invalid(object, "an overlay rootfs needs at least one layer");
        }
        try {
            Files.createDirectories(RootfsPaths.rootfs(containerDir));
            Files.createDirectories(RootfsPaths.upper(containerDir));
            Files.createDirectories(RootfsPaths.work(containerDir));
        } catch (IOException e) {
            cleanUp(containerDir, e);
            throw new VesselException(ErrorCode.INTERNAL, object, e.getMessage(), e);
        }
        RootfsLayers.Builder layers = RootfsLayers.newBuilder()
                .setUpper(RootfsPaths.upper(containerDir).toAbsolutePath().toString())
                .setWork(RootfsPaths.work(containerDir).toAbsolutePath().toString());
        for (Path layer : new ArrayList<>(layerDiffsBottomToTop).reversed()) {
            layers.addLower(layer.toAbsolutePath().toString());
        }
        return Optional.of(new Unmounted(RootfsPaths.rootfs(containerDir), layers.build()));
    }

    @Override
    public void remove(String containerId, Path containerDir) {
        try {
            Path rootfs = RootfsPaths.rootfs(containerDir);
            Mounts.unmountTree(rootfs);
            Files.deleteIfExists(rootfs); // the bare mount point; never a recursive delete of a merged view
            Trees.delete(RootfsPaths.overlay(containerDir));
            Trees.delete(RootfsPaths.lowerLinks(containerDir));
        } catch (IOException e) {
            throw VesselException.internal("container " + containerId, "cannot remove the overlay rootfs: "
                    + e.getMessage(), e);
        }
    }

    /** Overlay splits its options at ',' and lowerdir at ':' (and unescapes '\'): refuse such paths. */
    private static String options(String object, List<Path> lowerTopToBottom, Path upper, Path work) {
        List<String> lower = new ArrayList<>();
        for (Path layer : lowerTopToBottom) {
            lower.add(checked(object, layer));
        }
        return "lowerdir=" + String.join(":", lower) + ",upperdir=" + checked(object, upper)
                + ",workdir=" + checked(object, work);
    }

    private static String checked(String object, Path path) {
        String s = path.toString();
        if (s.contains(",") || s.contains(":") || s.contains("\\")) {
            throw VesselException.invalid(object, "path '" + s + "' contains ',', ':' or '\\', which overlay"
                    + " mount options cannot carry");
        }
        return s;
    }

    /** Links named 0, 1, 2… to the layers: the lowerdir list then costs a few bytes per layer. */
    private static List<Path> shortLinks(List<Path> layers, Path linkDir) throws IOException {
        Trees.delete(linkDir);
        Files.createDirectories(linkDir);
        List<Path> links = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            links.add(Files.createSymbolicLink(linkDir.resolve(Integer.toString(i, 36)),
                    layers.get(i).toAbsolutePath()));
        }
        return links;
    }

    /** Undoes a half-done assemble; a failure here is attached to the error being reported. */
    private static void cleanUp(Path containerDir, Exception reported) {
        try {
            if (!Mounts.isMountPoint(RootfsPaths.rootfs(containerDir))) {
                Files.deleteIfExists(RootfsPaths.rootfs(containerDir));
                Trees.delete(RootfsPaths.overlay(containerDir));
                Trees.delete(RootfsPaths.lowerLinks(containerDir));
            }
        } catch (IOException e) {
            reported.addSuppressed(e);
        }
    }
}
