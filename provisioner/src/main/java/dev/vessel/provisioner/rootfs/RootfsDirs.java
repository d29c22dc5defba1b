package dev.vessel.provisioner.rootfs;

import java.nio.file.Path;

/**
 * Where a backend keeps a container's rootfs inside the container's directory. (These belong in
 * {@code RuntimePaths} once it grows a rootfs section.)
 */
final class RootfsDirs {
    private RootfsDirs() {
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
