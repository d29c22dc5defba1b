package dev.vessel.core.containerizer;

import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Which boot of the machine the run dir was written in: the kernel's boot id, stamped in the run
 * dir once per daemon start (as the Mesos agent does). Records of an earlier boot describe tasks
 * that ended with it, and as checkpoints are not fsync'd (see {@code CheckpointFile}), a crash of
 * the machine may have torn some of them.
 */
final class BootStamp {
    private static final Path KERNEL_BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

    private final Path file;

    BootStamp(Path file) {
        this.file = file;
    }

    /** Whether the run dir says it was written in an earlier boot (no stamp: a new or pre-stamp run dir). */
    boolean fromEarlierBoot() {
        return stamped().map(id -> !id.equals(current())).orElse(false);
    }

    /** Stamps the run dir with this boot, durably: this one write must survive a power cut. */
    void stamp() {
        try {
            AtomicFiles.write(file, (current() + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw VesselException.internal(file.toString(), "cannot write the boot stamp: " + e.getMessage(), e);
        }
    }

    private Optional<String> stamped() {
        if (!Files.exists(file)) {
            return Optional.empty(); // a first start: looked at rather than caught (a guest pays for exceptions)
        }
        try {
            return Optional.of(Files.readString(file, StandardCharsets.US_ASCII).strip());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw VesselException.internal(file.toString(), "cannot read the boot stamp: " + e.getMessage(), e);
        }
    }

    private static String current() {
        try {
            return Files.readString(KERNEL_BOOT_ID, StandardCharsets.US_ASCII).strip();
        } catch (IOException e) {
            throw VesselException.internal(KERNEL_BOOT_ID.toString(), "cannot read the boot id: " + e.getMessage(), e);
        }
    }
}
