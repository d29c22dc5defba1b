package dev.vessel.launcher.vm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.linux.ExternalTool;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A machine's disk snapshots with the real qemu-img, on a disk no QEMU runs: taken inside the overlay,
 * applied back over later writes (read back through qemu-io), deleted, and flattened into standalone
 * images equal to the disk; the base image stays byte for byte.
 */
class DiskSnapshotsTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void aSnapshotIsTakenAppliedOverLaterWritesAndDeletedInsideTheDisk() throws Exception {
        Path base = qcow2("base.qcow2", 32 * MIB);
        qemuIo(base, "write -P 0x11 0 64k"); // the base has data of its own, read through the overlay
        String before = HostCommands.sha256(base);
        Path disk = dir.resolve("disk.qcow2");
        MachineDisk.ensure(disk, BaseImage.inspect(base, "qcow2"), 64 * MIB);

        qemuIo(disk, "write -P 0xaa 1M 64k");
        Instant taken = Instant.now();
        DiskSnapshots.offline(disk).create("before-upgrade");
        List<DiskSnapshot> listed = DiskSnapshots.read(disk).snapshots();
        assertEquals(List.of("before-upgrade"), listed.stream().map(DiskSnapshot::name).toList());
        assertEquals(0, listed.getFirst().vmStateBytes(), "a disk snapshot holds no guest memory");
        assertTrue(Duration.between(taken, listed.getFirst().created()).abs().toSeconds() < 60, listed::toString);

        qemuIo(disk, "write -P 0xbb 1M 64k");
        qemuIo(disk, "write -P 0xbb 0 4k");
        DiskSnapshots.apply(disk, "before-upgrade");
        qemuIo(disk, "read -P 0xaa 1M 64k");
        qemuIo(disk, "read -P 0x11 0 64k");
        assertThrows(ExternalTool.Failure.class, () -> DiskSnapshots.apply(disk, "never-taken"));

        DiskSnapshots.offline(disk).delete("before-upgrade");
        assertEquals(List.of(), DiskSnapshots.read(disk).snapshots());
        qemuIo(disk, "read -P 0xaa 1M 64k"); // deleting a snapshot leaves the disk as it is
        assertEquals(before, HostCommands.sha256(base), "the base image was written");
        assertEquals(List.of("base.qcow2", "disk.qcow2"), names());
    }

    @Test
    void aSnapshotIsFlattenedIntoAStandaloneImageThatNeverReplacesAFile() throws Exception {
        Path base = qcow2("base.qcow2", 32 * MIB);
        qemuIo(base, "write -P 0x11 0 64k");
        Path disk = dir.resolve("disk.qcow2");
        MachineDisk.ensure(disk, BaseImage.inspect(base, "qcow2"), 0);
        qemuIo(disk, "write -P 0xaa 1M 64k");
        DiskSnapshots.offline(disk).create("golden");
        qemuIo(disk, "write -P 0xbb 1M 64k"); // after the snapshot: not in the image

        Path image = dir.resolve("golden.qcow2");
        DiskSnapshots.flatten(disk, "golden", image, "qcow2");
        QemuImg.Info info = QemuImg.info(image, "qcow2");
        assertEquals(java.util.Optional.empty(), info.backingFile(), "the image has a backing file");
        assertEquals(32 * MIB, info.virtualSizeBytes());
        qemuIo(image, "read -P 0xaa 1M 64k");
        qemuIo(image, "read -P 0x11 0 64k");
        Path raw = dir.resolve("golden.raw");
        DiskSnapshots.flatten(disk, "golden", raw, "raw");
        HostCommands.run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw.toString(), image.toString());
        assertEquals(32 * MIB, Files.size(raw));

        Path taken = Files.writeString(dir.resolve("taken.qcow2"), "someone's file");
        assertThrows(FileAlreadyExistsException.class, () -> DiskSnapshots.flatten(disk, "golden", taken, "qcow2"));
        assertEquals("someone's file", Files.readString(taken));
        assertThrows(ExternalTool.Failure.class, () -> DiskSnapshots.flatten(disk, "never-taken",
                dir.resolve("never.qcow2"), "qcow2"));
        assertEquals(List.of("base.qcow2", "disk.qcow2", "golden.qcow2", "golden.raw", "taken.qcow2"), names(),
                "a temporary image was left");
    }

    private List<String> names() throws Exception {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private Path qcow2(String name, long size) throws Exception {
        Path image = dir.resolve(name);
        HostCommands.run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), Long.toString(size));
        return image;
    }

    /** A qemu-io command on a qcow2 image; a pattern that does not match fails it. */
    private static void qemuIo(Path image, String command) throws Exception {
        String out = HostCommands.run("qemu-io", "-f", "qcow2", "-c", command, image.toString());
        assertFalse(out.contains("Pattern verification failed"), command + ": " + out);
    }

}
