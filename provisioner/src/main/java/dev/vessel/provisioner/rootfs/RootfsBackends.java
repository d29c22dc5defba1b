package dev.vessel.provisioner.rootfs;

import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.Trees;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Picks the rootfs backend this node can use: overlay where the kernel mounts it, else copy. */
public final class RootfsBackends {
    private static final Path FILESYSTEMS = Path.of("/proc/filesystems");

    private RootfsBackends() {
    }

    public static RootfsBackend detect(RuntimePaths paths) throws IOException {
        return overlayListed() && overlayMounts(paths.overlayProbeDir()) ? new OverlayBackend() : new CopyBackend();
    }

    private static boolean overlayListed() throws IOException {
        return Files.readAllLines(FILESYSTEMS).stream().anyMatch(line -> line.strip().endsWith("overlay"));
    }

    /**
     * Listed is not enough: the run dir's filesystem must take an upper dir (xattrs, d_type) and we
     * must be allowed to mount. So mount a tiny overlay there, where container upper dirs will live.
     */
    private static boolean overlayMounts(Path probe) throws IOException {
        Path lower = probe.resolve("lower");
        Path merged = probe.resolve("merged");
        try {
            Files.createDirectories(lower);
            Files.createDirectories(probe.resolve("upper"));
            Files.createDirectories(probe.resolve("work"));
            Files.createDirectories(merged);
            Files.writeString(lower.resolve("probe"), "");
            Mounts.mount("overlay", merged, "overlay", 0, "lowerdir=" + lower + ",upperdir=" + probe.resolve("upper")
                    + ",workdir=" + probe.resolve("work"));
            try {
                return Files.exists(merged.resolve("probe"));
            } finally {
                Mounts.unmount(merged, Mounts.MNT_DETACH);
            }
        } catch (ErrnoException e) {
            return false;
        } finally {
            Trees.delete(probe);
        }
    }
}
