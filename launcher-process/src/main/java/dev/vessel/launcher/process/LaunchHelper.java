package dev.vessel.launcher.process;

import dev.vessel.core.checkpoint.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

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
        AtomicFiles.installExecutable(target, bundled);
        return target;
    }
}
