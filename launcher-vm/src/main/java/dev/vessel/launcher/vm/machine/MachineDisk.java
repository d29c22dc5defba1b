package dev.vessel.launcher.vm.machine;

import dev.vessel.core.error.VesselException;
import dev.vessel.linux.ExternalTool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A machine's own disk: a qcow2 overlay on its base image, which takes every write so that the base
 * is never written. Made on the machine's first boot (into a temporary name, renamed into place, so a
 * crash leaves no half-made disk under the real name), kept across boots, and checked at each boot to
 * be an overlay of exactly this base.
 */
public final class MachineDisk {
    static final String FIELD = "vm.machine.disk";

    private MachineDisk() {
    }

    /**
     * Makes {@code disk} over {@code base} when it is missing ({@code sizeBytes}, if set, the size the
     * guest sees: at least the base's), else checks it; refuses naming the field.
     */
    public static void ensure(Path disk, BaseImage base, long sizeBytes) throws IOException {
        if (Files.exists(disk, LinkOption.NOFOLLOW_LINKS)) {
            check(disk, base);
            return;
        }
        if (sizeBytes > 0 && sizeBytes < base.virtualSizeBytes()) {
            throw VesselException.invalid("vm.machine.disk_size_bytes", sizeBytes + " is smaller than the base image's "
                    + base.virtualSizeBytes() + " bytes: a disk can grow, not shrink");
        }
        if (!Files.isDirectory(disk.getParent())) {
            throw VesselException.invalid(FIELD, "the directory of '" + disk + "' does not exist on this node");
        }
        Path temporary = disk.resolveSibling("." + disk.getFileName() + ".new");
        Files.deleteIfExists(temporary); // a crash's leftover
        try {
            QemuImg.createOverlay(temporary, base.path(), base.format(), sizeBytes);
            Files.move(temporary, disk, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** An existing disk must be a qcow2 overlay of this very base, as this class made it. */
    private static void check(Path disk, BaseImage base) throws IOException {
        if (!Files.isRegularFile(disk, LinkOption.NOFOLLOW_LINKS)) {
            throw VesselException.invalid(FIELD, "'" + disk + "' exists and is not a regular file");
        }
        QemuImg.Info info;
        try {
            info = QemuImg.info(disk, "qcow2");
        } catch (ExternalTool.Failure e) {
            throw VesselException.invalid(FIELD, "'" + disk + "' exists and is not a qcow2 image: " + e.getMessage());
        }
        if (!info.backingFile().equals(java.util.Optional.of(base.path().toString()))
                || !info.backingFormat().equals(java.util.Optional.of(base.format()))) {
            throw VesselException.invalid(FIELD, "'" + disk + "' exists and is not an overlay of " + base.path() + " ("
                    + base.format() + "): its backing file is " + info.backingFile().orElse("none") + " ("
                    + info.backingFormat().orElse("no format") + ")");
        }
    }
}
