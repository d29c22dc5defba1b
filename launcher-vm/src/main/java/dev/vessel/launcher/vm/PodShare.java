package dev.vessel.launcher.vm;

import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A VM pod's share: one directory its domain exports (mapped and passed through, as a warm guest's), in
 * which each member's rootfs is bound on {@code <member id>/} while the guest runs, so members start
 * without a reboot or a new device. As for a warm guest (see {@code WarmGuest}), the share is a bind
 * mount of itself marked shared before the domain starts, so that binds made later reach QEMU's mount
 * namespace, and the rootfs goes one level down since QEMU holds the top open.
 */
final class PodShare {
    private PodShare() {
    }

    /** The share of the pod whose container directory is {@code podDir}. */
    static Path of(Path podDir) {
        return podDir.resolve("share");
    }

    /** Makes the share and turns it into a shared mount. */
    static void prepare(Path share) throws IOException {
        Files.createDirectories(share);
        Mounts.mount(share.toString(), share, null, Mounts.MS_BIND, null);
        Mounts.mount(null, share, null, Mounts.MS_SHARED, null);
    }

    /** Binds a member's rootfs where its pod's guest looks for it. */
    static void bind(Path share, String memberId, Path rootfs) throws IOException {
        Path point = share.resolve(memberId);
        Files.createDirectories(point);
        Mounts.mount(rootfs.toString(), point, null, Mounts.MS_BIND | Mounts.MS_REC, null);
    }

    /** Unbinds a member's rootfs and removes its (empty) mount point; nothing there is no error. */
    static void unbind(Path share, String memberId) throws IOException {
        Path point = share.resolve(memberId);
        if (Files.exists(point)) {
            Mounts.unmountTree(point);
            Files.delete(point);
        }
    }

    /**
     * Unmounts everything in the share, then removes it: entry by entry, never recursively (a rootfs still
     * bound there would be emptied; a non-empty entry fails instead, naming it).
     */
    static void remove(Path share) throws IOException {
        if (!Files.exists(share)) {
            return;
        }
        Mounts.unmountTree(share);
        try (Stream<Path> points = Files.list(share)) {
            for (Path point : points.toList()) {
                Files.delete(point);
            }
        }
        Files.delete(share);
    }
}
