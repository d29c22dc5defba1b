package dev.vessel.launcher.vm.machine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * QEMU's {@code qemu-img}, the one tool that reads and writes disk images, run with the format always
 * given (never probed), {@code --force-share} for reads (a base image is open in running VMs), a time
 * limit and its output bounded.
 */
final class QemuImg {
    private static final long TIMEOUT_SECONDS = 120;
    private static final int MAX_OUTPUT_BYTES = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What {@code qemu-img info} says of one image, its backing file named but never opened. */
    record Info(String format, long virtualSizeBytes, Optional<String> backingFile, Optional<String> backingFormat) {
    }

    /** A run of qemu-img that failed: its message is qemu-img's own first line of complaint. */
    static final class Failure extends IOException {
        Failure(String message) {
            super(message);
        }
    }

    private QemuImg() {
    }

    /** The image's header as {@code format}; a file that is not such an image fails with qemu-img's reason. */
    static Info info(Path image, String format) throws IOException {
        JsonNode info = JSON.readTree(run(List.of("qemu-img", "info", "--force-share", "--output=json", "-f", format,
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
        run(argv);
    }

    private static Optional<String> text(JsonNode node, String field) {
        return node.hasNonNull(field) ? Optional.of(node.get(field).asText()) : Optional.empty();
    }

    private static String run(List<String> argv) throws IOException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readNBytes(MAX_OUTPUT_BYTES), StandardCharsets.UTF_8);
            in.transferTo(java.io.OutputStream.nullOutputStream()); // past the bound: read, so it never blocks, and dropped
        }
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new Failure("qemu-img did not finish in " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while qemu-img ran", e);
        }
        if (p.exitValue() != 0) {
            String reason = out.lines().filter(l -> !l.isBlank()).findFirst().orElse("exit status " + p.exitValue());
            throw new Failure(reason.replaceFirst("^qemu-img: ", ""));
        }
        return out;
    }
}
