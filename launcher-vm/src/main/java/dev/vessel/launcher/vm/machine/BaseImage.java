package dev.vessel.launcher.vm.machine;

import dev.vessel.core.error.VesselException;
import dev.vessel.linux.ExternalTool;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A base disk image a machine boots from, checked as what it is: a regular file that is an image of
 * the format it was given, standing alone. An image with a backing file is refused, never followed: a
 * backing file naming a host path is the classic way to read host files through an image.
 *
 * @param path             the image file, absolute
 * @param format           {@code qcow2} or {@code raw}, as given (QEMU is always told, never lets it probe)
 * @param virtualSizeBytes the disk size the guest sees
 */
public record BaseImage(Path path, String format, long virtualSizeBytes) {
    static final String FIELD = "vm.machine.base_image";
    private static final byte[] QCOW2_MAGIC = {'Q', 'F', 'I', (byte) 0xfb};

    /** Reads and checks the image at {@code path} as {@code format}; refuses it naming {@value #FIELD}. */
    public static BaseImage inspect(Path path, String format) throws IOException {
        if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            throw VesselException.invalid(FIELD, "'" + path + "' is not a regular file on this node");
        }
        if (format.equals("raw") && startsWith(path, QCOW2_MAGIC)) {
            // raw takes any bytes; a qcow2 given as raw would boot its metadata as a disk
            throw VesselException.invalid(FIELD, "'" + path + "' is a qcow2 image, not raw: give its format as qcow2");
        }
        QemuImg.Info info;
        try {
            info = QemuImg.info(path, format);
        } catch (ExternalTool.Failure e) {
            throw VesselException.invalid(FIELD, "'" + path + "' is not a " + format + " image: " + e.getMessage());
        }
        if (!info.format().equals(format)) {
            throw VesselException.invalid(FIELD, "'" + path + "' is a " + info.format() + " image, not " + format);
        }
        if (info.backingFile().isPresent()) {
            throw VesselException.invalid(FIELD, "'" + path + "' has a backing file ('" + info.backingFile().get()
                    + "'): a base image must stand alone, and a backing file is never followed");
        }
        if (info.virtualSizeBytes() <= 0) {
            throw VesselException.invalid(FIELD, "'" + path + "' is an empty disk image");
        }
        return new BaseImage(path.toAbsolutePath().normalize(), format, info.virtualSizeBytes());
    }

    private static boolean startsWith(Path path, byte[] magic) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return Arrays.equals(in.readNBytes(magic.length), magic);
        }
    }
}
