package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code run}'s {@code --vm-*} flags: the config's {@code vm} options of a VM task — the guest's size, a kernel,
 * initramfs and command line of its own, further disks, a host rootfs served with its owners. The daemon
 * validates each value and names the API's field; here a flag is refused only for what the API cannot tell
 * apart (a zero, an empty value: "the default" there) and without {@code --vm}. Files are the caller's, so a
 * relative path is made absolute against the working directory, as {@code --rootfs} is.
 */
final class VmFlags {
    private static final String PREFIX = "--vm-";

    @Option(names = "--vm-vcpus", paramLabel = "N", description = "the guest's vCPUs (default: --cpus rounded up,"
            + " else 1)")
    private Integer vcpus;
    @Option(names = "--vm-memory", paramLabel = "SIZE", converter = Sizes.class, description = "the guest's memory"
            + " (default: --memory and the guest's own overhead, else the node's default)")
    private Long memory;
    @Option(names = "--vm-kernel", paramLabel = "FILE", description = "boot this kernel instead of the node's guest"
            + " kernel")
    private String kernel;
    @Option(names = "--vm-initrd", paramLabel = "FILE", description = "boot with this initramfs instead of the"
            + " node's")
    private String initrd;
    @Option(names = "--vm-kernel-cmdline", paramLabel = "ARGS", description = "the guest kernel's whole command line,"
            + " instead of the node's")
    private String kernelCmdline;
    @Option(names = "--vm-disk", paramLabel = "FILE[,target=DIR][,ro][,format=raw|qcow2][,fs=ext4]",
            converter = DiskConverter.class, description = "attach an image or block device as a virtio disk (never"
            + " probed: raw unless format=qcow2); with target=DIR the guest mounts its filesystem there for the"
            + " task; repeatable")
    private List<Disk> disks = new ArrayList<>();
    @Option(names = "--vm-keep-rootfs-owners", description = "serve --rootfs to the guest with its files' owners"
            + " and modes, as a process container sees it (virtio-fs); default: 9p as the emulator's own user")
    private boolean keepRootfsOwners;

    /** One {@code --vm-disk} (or {@code vm create --disk}): the API's {@code VmDisk}. */
    record Disk(String path, String target, boolean readOnly, String format, String fsType) {
        /** Adds it to a request's {@code disks}. */
        void putInto(ArrayNode disks) {
            ObjectNode disk = disks.addObject().put("path", path).put("read_only", readOnly);
            if (target != null) {
                disk.put("target", target);
            }
            if (format != null) {
                disk.put("format", format);
            }
            if (fsType != null) {
                disk.put("fs_type", fsType);
            }
        }
    }

    /**
     * Puts the config's {@code vm} into {@code body} when any of these flags was given; {@code vm} is whether
     * {@code --vm} was.
     */
    void putInto(ObjectNode body, boolean vm, CommandSpec spec) {
        List<String> given = spec.commandLine().getParseResult().matchedOptions().stream().map(OptionSpec::longestName)
                .filter(name -> name.startsWith(PREFIX)).toList();
        if (given.isEmpty()) {
            return;
        }
        if (!vm) {
            throw refused(spec, given.getFirst(), "only with --vm (it configures the task's virtual machine)");
        }
        ObjectNode options = body.putObject("vm");
        if (vcpus != null) {
            if (vcpus < 1) {
                throw refused(spec, "--vm-vcpus", "must be at least 1, not " + vcpus);
            }
            options.put("vcpus", vcpus);
        }
        if (memory != null) {
            options.put("memory_bytes", memory);
        }
        if (kernel != null) {
            options.put("kernel", file(spec, "--vm-kernel", kernel));
        }
        if (initrd != null) {
            options.put("initrd", file(spec, "--vm-initrd", initrd));
        }
        if (kernelCmdline != null) {
            if (kernelCmdline.isBlank()) {
                throw refused(spec, "--vm-kernel-cmdline", "must not be empty (leave the flag out for the node's)");
            }
            options.put("kernel_cmdline", kernelCmdline);
        }
        if (!disks.isEmpty()) {
            ArrayNode list = options.putArray("disks");
            disks.forEach(d -> d.putInto(list));
        }
        if (keepRootfsOwners) {
            options.put("keep_rootfs_owners", true);
        }
    }

    private static String file(CommandSpec spec, String flag, String value) {
        if (value.isEmpty()) {
            throw refused(spec, flag, "must name a file (leave the flag out for the node's)");
        }
        return Path.of(value).toAbsolutePath().toString();
    }

    private static CommandLine.ParameterException refused(CommandSpec spec, String flag, String problem) {
        return new CommandLine.ParameterException(spec.commandLine(), flag + ": " + problem);
    }

    static final class DiskConverter implements ITypeConverter<Disk> {
        @Override
        public Disk convert(String spec) {
            String[] parts = spec.split(",", -1);
            if (parts[0].isEmpty()) {
                throw new TypeConversionException("'" + spec + "': the file is missing");
            }
            String target = null;
            boolean readOnly = false;
            String format = null;
            String fsType = null;
            for (int i = 1; i < parts.length; i++) {
                String option = parts[i];
                int equals = option.indexOf('=');
                String key = equals < 0 ? option : option.substring(0, equals);
                String value = equals < 0 ? null : option.substring(equals + 1);
                switch (key) {
                    case "ro", "rw" -> {
                        if (value != null) {
                            throw new TypeConversionException("'" + spec + "': '" + key + "' takes no value");
                        }
                        readOnly = key.equals("ro");
                    }
                    case "target" -> target = value(spec, key, value);
                    case "format" -> format = value(spec, key, value);
                    case "fs" -> fsType = value(spec, key, value);
                    default -> throw new TypeConversionException("'" + spec + "': unknown option '" + option
                            + "' (known: target=DIR, ro, rw, format=raw|qcow2, fs=TYPE)");
                }
            }
            if (target != null && !target.startsWith("/")) {
                throw new TypeConversionException("'" + spec + "': the target '" + target
                        + "' must be an absolute path");
            }
            return new Disk(Path.of(parts[0]).toAbsolutePath().toString(), target, readOnly, format, fsType);
        }

        private static String value(String spec, String key, String value) {
            if (value == null || value.isEmpty()) {
                throw new TypeConversionException("'" + spec + "': '" + key + "' needs a value (" + key + "=…)");
            }
            return value;
        }
    }
}
