package dev.vessel.launcher.vm.machine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.linux.ExternalTool;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * QEMU's {@code qemu-img}, the one tool that reads and writes disk images, run with the format always
 * given (never probed) and {@code --force-share} for reads (a base image is open in running VMs).
 */
final class QemuImg {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Copying a whole disk: as long as the disk is big, within reason. */
    private static final Duration CONVERT_TIMEOUT = Duration.ofHours(1);

    /**
     * What {@code qemu-img info} says of one image, its backing file named but never opened.
     *
     * @param actualSizeBytes what the image file takes on the host
     * @param snapshots       its internal snapshots (qcow2), oldest first
     */
    record Info(String format, long virtualSizeBytes, long actualSizeBytes, Optional<String> backingFile,
            Optional<String> backingFormat, List<DiskSnapshot> snapshots) {
    }

    /** The operations of {@code qemu-img snapshot} on a qcow2 image's internal snapshots. */
    enum SnapshotOp {
        CREATE("-c"), APPLY("-a"), DELETE("-d");

        private final String flag;

        SnapshotOp(String flag) {
            this.flag = flag;
        }
    }

    private QemuImg() {
    }

    /** The image's header as {@code format}; a file that is not such an image fails ({@link ExternalTool.Failure}) with qemu-img's reason. */
    static Info info(Path image, String format) throws IOException {
        JsonNode info = JSON.readTree(ExternalTool.run(List.of("qemu-img", "info", "--force-share", "--output=json", "-f", format,
                image.toString())));
        List<DiskSnapshot> snapshots = new ArrayList<>();
        for (JsonNode s : info.path("snapshots")) {
            snapshots.add(new DiskSnapshot(s.path("name").asText(),
                    Instant.ofEpochSecond(s.path("date-sec").asLong(), s.path("date-nsec").asLong()),
                    s.path("vm-state-size").asLong()));
        }
        return new Info(info.path("format").asText(), info.path("virtual-size").asLong(), info.path("actual-size").asLong(),
                text(info, "backing-filename"), text(info, "backing-filename-format"), List.copyOf(snapshots));
    }

    /** A new qcow2 image at {@code overlay} whose backing file is {@code base} (of {@code baseFormat}). */
    static void createOverlay(Path overlay, Path base, String baseFormat, long sizeBytes) throws IOException {
        List<String> argv = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-F", baseFormat,
                "-b", base.toAbsolutePath().toString(), overlay.toString()));
        if (sizeBytes > 0) {
            argv.add(Long.toString(sizeBytes));
        }
        ExternalTool.run(argv);
    }

    /**
     * Creates, applies or deletes the internal snapshot {@code name} of the qcow2 image {@code qcow2}, which
     * no QEMU may hold (qemu-img takes its write lock). {@code qemu-img snapshot} has no {@code -f}: the
     * format is given through {@code --image-opts} instead, and the backing file is opened with the format
     * the image records.
     */
    static void snapshot(Path qcow2, SnapshotOp op, String name) throws IOException {
        ExternalTool.run(List.of("qemu-img", "snapshot", "-q", "--image-opts", op.flag, name,
                "driver=qcow2,file.filename=" + qcow2.toAbsolutePath().toString().replace(",", ",,")));
    }

    /**
     * Writes the state of {@code qcow2}'s internal snapshot {@code snapshot}, backing chain and all, as a new
     * standalone image of {@code format} at {@code target}. The image is read shared: a snapshot's clusters
     * are never written in place while it exists, so a QEMU may run the image meanwhile.
     */
    static void convert(Path qcow2, String snapshot, Path target, String format) throws IOException {
        ExternalTool.run(List.of("qemu-img", "convert", "-U", "-f", "qcow2", "-l", "snapshot.name=" + snapshot,
                "-O", format, qcow2.toAbsolutePath().toString(), target.toAbsolutePath().toString()), CONVERT_TIMEOUT);
    }

    private static Optional<String> text(JsonNode node, String field) {
        return node.hasNonNull(field) ? Optional.of(node.get(field).asText()) : Optional.empty();
    }
}
