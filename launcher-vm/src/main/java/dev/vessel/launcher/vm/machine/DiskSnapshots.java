package dev.vessel.launcher.vm.machine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * A machine's disk snapshots: qcow2 internal snapshots inside its own disk, so that they go with the
 * disk and the base image is never written. Each records the disk alone (no guest memory). They are
 * listed at any time; qemu-img creates, applies and deletes them while no QEMU runs the disk, and a
 * running VM's QEMU does it itself ({@link Writer}: QEMU holds the image's write lock). Everything
 * here works on the file in place, so its owner and QEMU's ACL entry stay as they were.
 */
public final class DiskSnapshots {
    /** Adds and removes snapshots of one disk, through whoever may write it now. */
    public interface Writer {
        void create(String name) throws IOException;

        void delete(String name) throws IOException;
    }

    private DiskSnapshots() {
    }

    /**
     * A disk as qemu-img reports it.
     *
     * @param fileBytes        what the disk's file takes on the host, its snapshots' data included
     * @param virtualSizeBytes the size the guest sees
     * @param snapshots        oldest first
     */
    public record Listing(long fileBytes, long virtualSizeBytes, List<DiskSnapshot> snapshots) {
    }

    /** The disk and its snapshots; read shared, so also while its VM runs. */
    public static Listing read(Path disk) throws IOException {
        QemuImg.Info info = QemuImg.info(disk, "qcow2");
        return new Listing(info.actualSizeBytes(), info.virtualSizeBytes(), info.snapshots());
    }

    /** The writer of a disk no QEMU runs: qemu-img, which fails on a disk a QEMU holds. */
    public static Writer offline(Path disk) {
        return new Writer() {
            @Override
            public void create(String name) throws IOException {
                QemuImg.snapshot(disk, QemuImg.SnapshotOp.CREATE, name);
            }

            @Override
            public void delete(String name) throws IOException {
                QemuImg.snapshot(disk, QemuImg.SnapshotOp.DELETE, name);
            }
        };
    }

    /** Puts the disk, which no QEMU runs, back to the snapshot {@code name}; what it held since is gone. */
    public static void apply(Path disk, String name) throws IOException {
        QemuImg.snapshot(disk, QemuImg.SnapshotOp.APPLY, name);
    }

    /**
     * Writes the disk as its snapshot {@code snapshot} holds it, base image included, as a new standalone
     * image (no backing file) of {@code format} at {@code target}: into a temporary name beside it, then
     * hard-linked into place, which, unlike a rename, never replaces a file that appeared there meanwhile
     * ({@link java.nio.file.FileAlreadyExistsException}). A failure leaves nothing at either name.
     */
    public static void flatten(Path disk, String snapshot, Path target, String format) throws IOException {
        Path temporary = target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + ".new");
        try {
            QemuImg.convert(disk, snapshot, temporary, format);
            Files.createLink(target, temporary);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
