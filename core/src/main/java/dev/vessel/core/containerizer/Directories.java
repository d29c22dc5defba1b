package dev.vessel.core.containerizer;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** Creating and removing the containerizer's directories, failures as {@link VesselException}s. */
final class Directories {
    private Directories() {
    }

    static void create(Path dir) {
        try {
            Trees.createDirectories(dir);
        } catch (IOException e) {
            throw VesselException.internal(dir.toString(), "cannot create directory: " + e.getMessage(), e);
        }
    }

    /** Sets {@code dir} to 0755: everyone may read and search it, only root write. */
    static void openToTasks(Path dir) {
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw VesselException.internal(dir.toString(), "cannot set the directory's mode: " + e.getMessage(), e);
        }
    }

    /** Removes {@code dir} with everything in it; nothing to do when it does not exist. */
    static void deleteTree(Path dir) {
        try {
            Trees.delete(dir);
        } catch (IOException e) {
            throw VesselException.internal(dir.toString(), "cannot remove directory: " + e.getMessage(), e);
        }
    }
}
