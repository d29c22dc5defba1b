package dev.vessel.launcher.vm.machine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * QEMU's {@code qemu-img}, the one tool that reads and writes disk images, run with the format always
 * given (never probed) and {@code --force-share} for reads (a base image is open in running VMs).
 */
final class QemuImg {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What {@code qemu-img info} says of one image, its backing file named but never opened. */
    record Info(String format, long virtualSizeBytes, Optional<String> backingFile, Optional<String> backingFormat) {
    }

    private QemuImg() {
    }

    /** The image's header as {@code format}; a file that is not such an image fails ({@link HostTool.Failure}) with qemu-img's reason. */
    static Info info(Path image, String format) throws IOException {
        JsonNode info = JSON.readTree(HostTool.run(List.of("qemu-img", "info", "--force-share", "--output=json", "-f", format,
                image.toString())));
        return new Info(info.path("format").asText(), info.path("virtual-size").asLong(),
                text(info, "backing-filename"), text(info, "backing-filename-format"));
    }

    /** A new qcow2 image at {@code overlay} whose backing file is {@code base} (of {@code baseFormat}). */
    static void createOverlay(Path overlay, Path base, String baseFormat, long sizeBytes) throws IOException {
        List<String> argv = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-F", baseFormat,
                "-b", base.toAbsolutePath().toString(), overlay.toString()));
        if (sizeBytes > 0) {
            argv.add(Long.toString(sizeBytes));
        }
        HostTool.run(argv);
    }

    private static Optional<String> text(JsonNode node, String field) {
        return node.hasNonNull(field) ? Optional.of(node.get(field).asText()) : Optional.empty();
    }
}
