package dev.vessel.node.daemon;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the VM guest's kernel and initramfs are when neither a flag nor the configuration file names a
 * directory, the same for {@code vesseld} and {@code vessel daemon} wherever they run from:
 * <ol>
 * <li>{@code VESSEL_GUEST_DIR}, as given;</li>
 * <li>an installation's {@code <prefix>/lib/vessel/guest}: the directory above the one holding the daemon's jar
 *     (the Debian package puts the jars in {@code /usr/lib/vessel/lib});</li>
 * <li>a checkout's {@code images/target/guest}, what the images module built, found above the node module's
 *     classes or jar;</li>
 * <li>{@code <state-dir>/guest}.</li>
 * </ol>
 * The two found by place count only where they hold an {@code artifacts.properties}.
 */
public final class GuestDirectory {
    public static final String ENV = "VESSEL_GUEST_DIR";
    private static final String DESCRIPTION = "artifacts.properties";
    /** node/target/classes is three levels below a checkout's root, lib/vessel/lib/x.jar two below lib/vessel. */
    private static final int LEVELS = 4;

    private GuestDirectory() {
    }

    /** The default for this process: its environment and the place its code was loaded from. */
    public static Path fallback(Path stateGuestDir) {
        return fallback(System.getenv(), codeLocation(), stateGuestDir);
    }

    static Path fallback(Map<String, String> env, Path codeLocation, Path stateGuestDir) {
        String fromEnv = env.get(ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv);
        }
        if (codeLocation != null) {
            Path dir = codeLocation.toAbsolutePath().getParent();
            for (int i = 0; i < LEVELS && dir != null; i++, dir = dir.getParent()) {
                for (Path candidate : new Path[] {dir.resolve("guest"), dir.resolve("images/target/guest")}) {
                    if (Files.isRegularFile(candidate.resolve(DESCRIPTION))) {
                        return candidate;
                    }
                }
            }
        }
        return stateGuestDir;
    }

    private static Path codeLocation() {
        try {
            var source = GuestDirectory.class.getProtectionDomain().getCodeSource();
            return source == null ? null : Path.of(source.getLocation().toURI());
        } catch (URISyntaxException | IllegalArgumentException | SecurityException e) {
            return null; // not loaded from a file: only the environment and the state directory remain
        }
    }
}
