package dev.vessel.provisioner.rootfs;

import dev.vessel.core.paths.RuntimePaths;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The provisioner's subtree of the state dir ({@link RuntimePaths#provisionedRootfsDir()}): the one
 * place that names what is in a container's directory there and lists the directories.
 *
 * <pre>
 * rootfs/
 *   &lt;id&gt;/                  one directory per provisioned container ({@link RuntimePaths#provisionedRootfsDir(String)})
 *     image                the manifest digest of the image it is built on, so collection keeps that image
 *     rootfs/              the assembled root filesystem: an overlay or bind mount point, or the copied tree
 *     overlay/             overlay state:
 *       upper/               the container's writes
 *       work/                overlayfs's work directory
 *     l/                   overlay: short symlinks to the layers, for lowerdir lists too long for one page
 * </pre>
 */
public final class RootfsPaths {
    private RootfsPaths() {
    }

    /** Where the container's image is recorded, before anything is built on it. */
    public static Path imageRecord(Path containerDir) {
        return containerDir.resolve("image");
    }

    /** The ids of the containers that have a directory here; none when there is no such directory. */
    public static List<String> containerIds(RuntimePaths paths) throws IOException {
        List<String> ids = new ArrayList<>();
        Path root = paths.provisionedRootfsDir();
        if (Files.isDirectory(root)) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(root, Files::isDirectory)) {
                entries.forEach(e -> ids.add(e.getFileName().toString()));
            }
        }
        return ids;
    }

    /** {@link #rootfs}, for those outside the backends: a mount point, or the copied tree. */
    public static Path rootfsDir(Path containerDir) {
        return rootfs(containerDir);
    }

    /** {@link #overlay}, for those outside the backends: the container's writes and overlayfs's work directory. */
    public static Path overlayDir(Path containerDir) {
        return overlay(containerDir);
    }

    /** The assembled root filesystem: an overlay or bind mount point, or the copied tree. */
    static Path rootfs(Path containerDir) {
        return containerDir.resolve("rootfs");
    }

    /** Overlay's per-container state: upper (the container's writes) and work. */
    static Path overlay(Path containerDir) {
        return containerDir.resolve("overlay");
    }

    static Path upper(Path containerDir) {
        return overlay(containerDir).resolve("upper");
    }

    static Path work(Path containerDir) {
        return overlay(containerDir).resolve("work");
    }

    /** Short symlinks to the layers, for images whose lowerdir list is too long for one page. */
    static Path lowerLinks(Path containerDir) {
        return containerDir.resolve("l");
    }
}
