package dev.vessel.provisioner.layer;

import dev.vessel.linux.DeviceNodes;
import dev.vessel.linux.Xattrs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Overlayfs's on-disk form of OCI whiteouts, which unpacked layers use so that they can serve as
 * overlay lower dirs as they are: a deleted path is a character device 0/0, a directory that hides
 * everything below it carries the xattr {@code trusted.overlay.opaque=y}.
 */
public final class OverlayMarkers {
    public static final String OPAQUE_XATTR = "trusted.overlay.opaque";
    private static final byte[] OPAQUE_VALUE = "y".getBytes(StandardCharsets.US_ASCII);

    private OverlayMarkers() {
    }

    public static void createWhiteout(Path path) throws IOException {
        DeviceNodes.create(path, DeviceNodes.Kind.CHARACTER, 0, 0, 0);
    }

    public static boolean isWhiteout(Path path) throws IOException {
        int mode = (int) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        long rdev = (long) Files.getAttribute(path, "unix:rdev", LinkOption.NOFOLLOW_LINKS);
        return (mode & 0170000) == 0020000 && rdev == 0;
    }

    public static void markOpaque(Path dir) throws IOException {
        Xattrs.set(dir, OPAQUE_XATTR, OPAQUE_VALUE);
    }

    public static boolean isOpaque(Path dir) throws IOException {
        return Xattrs.get(dir, OPAQUE_XATTR).map(v -> v.length == 1 && v[0] == 'y').orElse(false);
    }
}
