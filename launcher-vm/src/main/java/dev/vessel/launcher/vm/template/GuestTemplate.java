package dev.vessel.launcher.vm.template;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import dev.vessel.launcher.vm.domain.VmSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Objects;

/**
 * A saved guest that guests are restored from instead of booting: booted, its agent warmed up, then saved as
 * its RAM ({@code memory}, which every clone maps privately) and its devices' state ({@code state}, which every
 * clone reads), both in {@code dir}.
 *
 * @param name         the template's name, also its directory's
 * @param inputs       what the guest was booted from ({@link GuestTemplates.Builder#inputs}): a template whose
 *                     inputs are no longer the node's is rebuilt, never restored
 * @param memoryBytes  the guest's RAM, and the most a task restored from it may ask for
 * @param vcpus        the guest's vCPUs, and the most a task restored from it may ask for
 * @param saved        the attributes of {@code memory} and {@code state} once saved (see {@link #isIntact})
 */
public record GuestTemplate(String name, Path dir, String inputs, long memoryBytes, int vcpus,
        Map<String, Map<String, Object>> saved) {
    public GuestTemplate {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(inputs, "inputs");
        saved = Map.copyOf(saved);
    }

    /** The saved template at {@code dir}, its files' attributes read now. */
    public static GuestTemplate saved(String name, Path dir, String inputs, long memoryBytes, int vcpus)
            throws IOException {
        return new GuestTemplate(name, dir, inputs, memoryBytes, vcpus,
                Map.of("memory", attributes(memory(dir)), "state", attributes(state(dir))));
    }

    /**
     * What a template booted from {@code spec} is made of, as a string that differs when any of it differs: the
     * kernel, initramfs and software image (each file's identity and change time), QEMU and the wrapper (the
     * same), the accelerator, the kernel's command line, the guest's size and TCG cache.
     */
    public static String inputsOf(VmSpec spec, Path qemu, Path wrapper) throws IOException {
        StringBuilder inputs = new StringBuilder();
        List<Path> files = new ArrayList<>(List.of(spec.kernel(), spec.initrd(), qemu, wrapper));
        spec.software().ifPresent(software -> files.add(software.image()));
        for (Path file : files) {
            inputs.append(file).append(' ')
                    .append(new TreeMap<>(Files.readAttributes(file, "unix:dev,ino,size,ctime,lastModifiedTime")))
                    .append('\n');
        }
        return inputs.append(spec.accelerator()).append(' ').append(spec.kernelCmdline()).append(' ')
                .append(spec.memoryBytes()).append(' ').append(spec.vcpus()).append(' ').append(spec.tcgCodeCacheMib())
                .toString();
    }

    /** The guest's RAM as saved: QEMU's user may write it (QEMU 7.2 opens it read-write even to map it privately). */
    public static Path memory(Path dir) {
        return dir.resolve("memory");
    }

    /** The devices' state as saved (QEMU's migration stream, without the RAM). */
    public static Path state(Path dir) {
        return dir.resolve("state");
    }

    /**
     * Whether both files are as they were saved: the same inode, size and change time, which no write can leave as
     * they were. A QEMU taken over could write the memory file (its user must be able to); a changed template would
     * reach every clone made after, so a changed one is never restored.
     */
    public boolean isIntact() {
        try {
            return saved.get("memory").equals(attributes(memory(dir)))
                    && saved.get("state").equals(attributes(state(dir)));
        } catch (IOException e) {
            return false;
        }
    }

    private static Map<String, Object> attributes(Path file) throws IOException {
        try {
            return Files.readAttributes(file, "unix:dev,ino,size,ctime");
        } catch (NoSuchFileException e) {
            return Map.of();
        }
    }
}
