package dev.vessel.launcher.vm;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;

/**
 * The guest kernel, initramfs, software image and kernel command line the images module built, as its
 * {@code artifacts.properties} describes them ({@code kernel}, {@code initrd}, {@code software}, {@code cmdline};
 * a description without {@code software} is of a guest whose initramfs holds everything).
 * It also owns the names in a guest artifacts directory:
 * <pre>
 * &lt;dir&gt;/artifacts.properties   the description (kernel, initrd, cmdline, sizes, hashes)
 * &lt;dir&gt;/vmlinux                the kernel, when the description is missing
 * &lt;dir&gt;/initramfs.cpio         the initramfs, likewise
 * </pre>
 */
public record GuestArtifacts(Path kernel, Path initrd, Optional<Path> software, String cmdline) {
    private static final String FILE = "artifacts.properties";

    /** The description the images module writes in {@code dir}. */
    public static Path description(Path dir) {
        return dir.resolve(FILE);
    }

    /** The kernel a directory of guest artifacts holds by name, when no description says otherwise. */
    public static Path kernelIn(Path dir) {
        return dir.resolve("vmlinux");
    }

    /** The initramfs a directory of guest artifacts holds by name, when no description says otherwise. */
    public static Path initrdIn(Path dir) {
        return dir.resolve("initramfs.cpio");
    }

    /**
     * Reads {@code dir/artifacts.properties}; fails saying what is missing. A relative kernel, initrd or
     * software image is relative to {@code dir}, so that a directory can be copied or installed elsewhere whole.
     */
    public static GuestArtifacts load(Path dir) throws IOException {
        Path file = description(dir);
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file)) {
            p.load(in);
        } catch (NoSuchFileException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "vm", "no guest artifacts at " + dir + " (" + FILE
                    + " is missing): build them with the images module");
        }
        Path absolute = dir.toAbsolutePath();
        String software = p.getProperty("software", "").strip();
        return new GuestArtifacts(absolute.resolve(required(p, "kernel", file)),
                absolute.resolve(required(p, "initrd", file)),
                software.isEmpty() ? Optional.empty() : Optional.of(absolute.resolve(software)), required(p, "cmdline", file));
    }

    private static String required(Properties p, String key, Path file) {
        String value = p.getProperty(key, "").strip();
        if (value.isEmpty()) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "vm", file + " has no '" + key + "'");
        }
        return value;
    }

    /** The launcher configuration with these as its default guest. */
    public VmLauncherConfig applyTo(VmLauncherConfig config) {
        return config.withArtifacts(kernel, initrd).withSoftware(software).withKernelCmdline(cmdline);
    }
}
