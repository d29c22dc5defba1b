package dev.vessel.launcher.process;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;

/**
 * The native helper {@code vessel-launch} travels inside this module's jar (Maven compiles it with
 * gcc); a jar entry cannot be executed, so it is installed once as a root-owned executable file.
 */
public final class LaunchHelper {
    private static final String RESOURCE = "vessel-launch";

    private LaunchHelper() {
    }

    /** Installs the bundled helper at {@code target} unless an identical file is there; returns it. */
    public static Path install(Path target) throws IOException {
        byte[] bundled;
        try (InputStream in = LaunchHelper.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("no vessel-launch bundled next to " + LaunchHelper.class.getName()
                        + ": build launcher-process with Maven, which compiles it");
            }
            bundled = in.readAllBytes();
        }
        if (Files.isRegularFile(target) && Arrays.equals(Files.readAllBytes(target), bundled)) {
            return target;
        }
        Files.createDirectories(target.getParent());
        // Written aside and renamed: a running helper keeps its old inode, a new launch gets a whole file.
        Path tmp = Files.createTempFile(target.getParent(), ".vessel-launch", ".tmp");
        try {
            Files.write(tmp, bundled);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }
}
