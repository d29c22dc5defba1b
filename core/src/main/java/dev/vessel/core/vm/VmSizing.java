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
    /** A JDK 25 initramfs fails to unpack in 256 MiB (docs/architecture.md, measured facts). */
    public static final long DEFAULT_MIN_MEMORY_BYTES = 384 * MIB;
    /** A guest kernel and its agent do not boot in less: a smaller explicit size is a typo. */
    public static final long MIN_REQUESTED_MEMORY_BYTES = 64 * MIB;
    /** The agent's JVM in the guest: heap, metaspace, code cache and the JRE's mapped files. */
    public static final long AGENT_JVM_BYTES = 128 * MIB;
    /** Guest memory when neither the VM options nor the resources say anything. */
    public static final long DEFAULT_MEMORY_BYTES = 512 * MIB;

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
     * What the guest uses besides the task: the kernel image, the initramfs twice while it unpacks
     * (the archive and its files in the rootfs tmpfs), and the agent's JVM. The container's own
     * kernel and initramfs weigh instead of the defaults when it names them.
     */
    public long guestOverheadBytes(ContainerConfig config) throws IOException {
        Path k = config.getVm().getKernel().isEmpty() ? kernel : Path.of(config.getVm().getKernel());
        Path i = config.getVm().getInitrd().isEmpty() ? initrd : Path.of(config.getVm().getInitrd());
        return sizeOrZero(k) + 2 * sizeOrZero(i) + AGENT_JVM_BYTES;
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
