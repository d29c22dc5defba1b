package dev.vessel.node.daemon;

import dev.vessel.core.paths.RuntimePaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The modes of the daemon's two directories, set whether the daemon creates them or finds them: the
 * state dir 0700 and the run dir 0711. Both hold the containers' records, and a record holds the
 * container's environment, its secrets with it; 0711 on the run dir still lets other users reach a path
 * they are given (the API socket, whose own mode decides who may use it) without listing what is there.
 */
final class DaemonDirs {
    static final Set<PosixFilePermission> STATE_DIR_MODE = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> RUN_DIR_MODE = PosixFilePermissions.fromString("rwx--x--x");

    private DaemonDirs() {
    }

    static void secure(RuntimePaths paths) throws IOException {
        withMode(paths.stateDir(), STATE_DIR_MODE);
        withMode(paths.runDir(), RUN_DIR_MODE);
    }

    private static void withMode(Path dir, Set<PosixFilePermission> mode) throws IOException {
        if (!Files.isDirectory(dir)) {
            Path parent = dir.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            // created private from the start; the chmod below then fixes what the umask took off
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(mode));
        }
        Files.setPosixFilePermissions(dir, mode);
    }
}
