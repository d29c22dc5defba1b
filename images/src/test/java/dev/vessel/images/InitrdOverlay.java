package dev.vessel.images;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The image's initramfs followed by a small cpio of extra files: the kernel unpacks both, the later
 * one replacing files of the first. Lets a test add an /etc/vessel/init.d hook or break a file
 * without rebuilding the image.
 */
final class InitrdOverlay {
    private final Path tree;

    InitrdOverlay(Path dir) throws IOException {
        this.tree = Files.createDirectories(dir.resolve("overlay"));
    }

    InitrdOverlay file(String path, String content, String permissions) throws IOException {
        Path file = tree.resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
        return this;
    }

    /** Writes {@code base} + this overlay's cpio (made with GNU cpio) to {@code out}. */
    Path appendTo(Path base, Path out) throws Exception {
        Path cpio = tree.resolveSibling("overlay.cpio");
        Process archiver = new ProcessBuilder("sh", "-c", "find . -mindepth 1 | cpio --quiet -o -H newc -R 0:0")
                .directory(tree.toFile()).redirectOutput(cpio.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        assertEquals(0, archiver.waitFor(), "cpio failed to archive the overlay (apt-get install cpio)");
        Files.copy(base, out);
        try (OutputStream appended = Files.newOutputStream(out, StandardOpenOption.APPEND)) {
            Files.copy(cpio, appended);
        }
        return out;
    }
}
