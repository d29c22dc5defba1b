package dev.vessel.core.vm;

import dev.vessel.core.model.ContainerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How big a VM task's machine is: the one place the guest's sizing rules and numbers are defined.
 * Two floors apply, at two stages: the validator refuses an explicit {@code vm.memory_bytes} below
 * {@link #MIN_REQUESTED_MEMORY_BYTES} (a typo, bytes for MiB), and the VM launcher refuses a guest
 * below {@link #minMemoryBytes()} (a configurable, much larger floor the guest actually needs).
 *
 * @param minMemoryBytes guests smaller than this are refused, and sized guests grow to it
 * @param kernel         the default guest kernel, whose size counts as guest overhead
 * @param initrd         the default guest initramfs, whose size counts twice as guest overhead
 */
public record VmSizing(long minMemoryBytes, Path kernel, Path initrd) {
    public static final long MIB = 1024L * 1024;
    /**
     * Set when the initramfs held the JRE and failed to unpack in 256 MiB (docs/architecture.md, measured facts);
     * the software image has taken the JRE out of guest RAM since, and a lower floor is not measured yet.
     */
    public static final long DEFAULT_MIN_MEMORY_BYTES = 384 * MIB;
    /** A guest kernel and its agent do not boot in less: a smaller explicit size is a typo. */
    public static final long MIN_REQUESTED_MEMORY_BYTES = 64 * MIB;
    /** The agent's JVM in the guest: heap, metaspace, code cache and the JRE's mapped files. */
    public static final long AGENT_JVM_BYTES = 128 * MIB;
    /** Guest memory when neither the VM options nor the resources say anything. */
    public static final long DEFAULT_MEMORY_BYTES = 512 * MIB;
    /**
     * What a compressed initramfs's files may take per byte of the archive: the default image unpacks
     * 2.5 times its LZ4 archive (3.5 times with zstd -19); more room only makes untouched guest pages.
     */
    public static final long UNPACKED_PER_COMPRESSED_BYTE = 4;

    public VmSizing {
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        if (minMemoryBytes <= 0) {
            throw new IllegalArgumentException("minMemoryBytes must be positive");
        }
    }

    /** The VM options' vCPUs, else the task's CPUs rounded up, else one. */
    public static int vcpus(ContainerConfig config) {
        if (config.getVm().getVcpus() > 0) {
            return config.getVm().getVcpus();
        }
        double cpus = config.getResources().getCpus();
        return cpus > 0 ? (int) Math.ceil(cpus) : 1;
    }

    /**
     * The guest's memory: an explicit size as asked (the launcher refuses one below its minimum);
     * else the task's memory plus the guest's overhead, or {@link #DEFAULT_MEMORY_BYTES} without one,
     * never below the minimum, in whole MiB.
     */
    public long memoryBytes(ContainerConfig config) throws IOException {
        if (config.getVm().getMemoryBytes() > 0) {
            return config.getVm().getMemoryBytes();
        }
        long task = config.getResources().getMemoryBytes();
        long wanted = task > 0 ? task + guestOverheadBytes(config) : DEFAULT_MEMORY_BYTES;
        return roundUpToMib(Math.max(wanted, minMemoryBytes));
    }

    /**
     * What the guest uses besides the task: the kernel image, the initramfs while it unpacks (the
     * archive and its files in the rootfs tmpfs: twice an uncompressed archive, 1 + {@link
     * #UNPACKED_PER_COMPRESSED_BYTE} times a compressed one), and the agent's JVM. The container's own
     * kernel and initramfs weigh instead of the defaults when they name them.
     */
    public long guestOverheadBytes(ContainerConfig config) throws IOException {
        Path k = config.getVm().getKernel().isEmpty() ? kernel : Path.of(config.getVm().getKernel());
        Path i = config.getVm().getInitrd().isEmpty() ? initrd : Path.of(config.getVm().getInitrd());
        long archive = sizeOrZero(i);
        return sizeOrZero(k) + archive + (isCompressed(i) ? UNPACKED_PER_COMPRESSED_BYTE : 1) * archive
                + AGENT_JVM_BYTES;
    }

    /** Whether the file starts as an archive the kernel decompresses: LZ4 (legacy and frame), gzip, zstd, xz. */
    static boolean isCompressed(Path initrd) throws IOException {
        if (!Files.isRegularFile(initrd)) {
            return false;
        }
        byte[] head = new byte[4];
        try (var in = Files.newInputStream(initrd)) {
            if (in.readNBytes(head, 0, 4) < 4) {
                return false;
            }
        }
        int magic = ((head[0] & 0xff) << 24) | ((head[1] & 0xff) << 16) | ((head[2] & 0xff) << 8) | (head[3] & 0xff);
        return magic == 0x02214c18 || magic == 0x04224d18 || magic == 0x28b52ffd || magic == 0xfd377a58
                || (magic >>> 16) == 0x1f8b;
    }

    /** A missing artifact is the launcher's to report, naming its field; here it only weighs nothing. */
    private static long sizeOrZero(Path file) throws IOException {
        return Files.isRegularFile(file) ? Files.size(file) : 0;
    }

    /** How many MiB {@code bytes} take, a part counted whole. */
    public static long wholeMib(long bytes) {
        return (bytes + MIB - 1) / MIB;
    }

    private static long roundUpToMib(long bytes) {
        return wholeMib(bytes) * MIB;
    }
}
