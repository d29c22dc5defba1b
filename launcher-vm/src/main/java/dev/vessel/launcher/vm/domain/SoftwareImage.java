package dev.vessel.launcher.vm.domain;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.linux.PosixAcls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Objects;

/**
 * The guest's software image (the JRE, the agent and its AOT cache: the images module's {@code software.erofs})
 * as the domains map it: every guest's NVDIMM is backed by this one file, mapped privately by its QEMU, so the
 * guests read the same pages of the host's page cache (DAX in the guest) and a guest's writes, were its
 * unarmed NVDIMM ever written, stay in its own memory.
 *
 * <p>QEMU 7.2 opens a memory backend's file read-write even for a private mapping, and libvirt 9.0 has no way
 * to ask otherwise: QEMU's user must be able to write the file. A guest cannot, but a QEMU taken over could,
 * and a changed file would reach every guest booted after. So QEMU never gets the built image (which its user
 * cannot write) but a copy made by this daemon, checked unchanged (the same inode, size and change time, which
 * no write can leave as it was) before each domain is given it; a changed or missing copy is replaced by a
 * fresh one, and the domains running keep mapping the one they have. The copy is made for the daemon's first
 * domain, not at its start: a daemon that never boots a guest (a process-only runtime root, perhaps on a
 * tmpfs) never holds it.
 */
public final class SoftwareImage {
    /** The guest maps device memory in 2 MiB sections: the image is padded to whole ones when built. */
    public static final long ALIGNMENT_BYTES = 2L << 20;
    private static final System.Logger LOG = System.getLogger(SoftwareImage.class.getName());

    private final Path built;
    private final Path copy;
    private final Path stateDir;
    private final QemuUser qemu;
    /** The copy as it was made ({@code unix:} attributes); null until the first domain needs it. */
    private Map<String, Object> made;

    /**
     * {@code built}: the images module's file; {@code copy}: where this daemon keeps QEMU's copy, under
     * {@code stateDir} (whose directories on the way are opened to QEMU's user for searching).
     */
    public SoftwareImage(Path built, Path copy, Path stateDir, QemuUser qemu) {
        this.built = Objects.requireNonNull(built, "built");
        this.copy = copy.toAbsolutePath().normalize();
        this.stateDir = stateDir.toAbsolutePath().normalize();
        this.qemu = Objects.requireNonNull(qemu, "qemu");
        if (!this.copy.startsWith(this.stateDir) || this.copy.equals(this.stateDir)) {
            throw new IllegalArgumentException(copy + " is not under " + stateDir);
        }
    }

    /**
     * The copy a domain may map now: made the first time (a copy left by an earlier daemon is not trusted:
     * its history is unknown), made again when it changed since. Fails naming {@code vm.software} when the
     * built image is missing or not whole 2 MiB.
     */
    public synchronized VmSpec.Software current() throws IOException {
        if (made == null || !made.equals(attributes(copy))) {
            if (made != null) {
                LOG.log(System.Logger.Level.WARNING, "the guests'' software image copy {0} changed or went away since it "
                        + "was made: a fresh copy replaces it for the guests booted from now on", copy);
            }
            made = place();
        }
        return new VmSpec.Software(copy, (Long) made.get("size"));
    }

    private Map<String, Object> place() throws IOException {
        long size;
        try {
            size = Files.size(built);
        } catch (NoSuchFileException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "vm.software", "the guest's software image " + built
                    + " is missing: build the guest with the images module");
        }
        if (size == 0 || size % ALIGNMENT_BYTES != 0) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "vm.software", "the guest's software image " + built
                    + " is " + size + " bytes, not whole 2 MiB: rebuild it with the images module");
        }
        Files.createDirectories(copy.getParent());
        qemu.allowSearch(stateDir, copy.getParent());
        Path temporary = copy.resolveSibling("." + copy.getFileName() + ".new");
        try {
            Files.copy(built, temporary, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
            qemu.allow(temporary, PosixAcls.READ | PosixAcls.WRITE); // root and QEMU's user, no one else
            Files.move(temporary, copy, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
        }
        return attributes(copy);
    }

    /** What any write or replacement changes; empty for a missing file. */
    private static Map<String, Object> attributes(Path file) throws IOException {
        try {
            return Files.readAttributes(file, "unix:dev,ino,size,ctime");
        } catch (NoSuchFileException e) {
            return Map.of();
        }
    }
}
