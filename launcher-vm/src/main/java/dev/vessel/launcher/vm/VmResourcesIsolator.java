package dev.vessel.launcher.vm;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.VmLaunchInfo;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.PrepareContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Sizes a VM task's machine: vCPUs and guest memory. The container's explicit VM options win;
 * otherwise the task's resources, plus what the guest itself needs (kernel, the unpacked initramfs,
 * the agent's JVM), and never less than the launcher's minimum. Changes and statistics of a running
 * task go to the guest, whose isolators enforce and measure them.
 */
public final class VmResourcesIsolator implements Isolator {
    /** The agent's JVM in the guest: heap, metaspace, code cache and the JRE's mapped files. */
    static final long AGENT_JVM_BYTES = 128 * VmLauncherConfig.MIB;
    /** Guest memory when neither the VM options nor the resources say anything. */
    static final long DEFAULT_MEMORY_BYTES = 512 * VmLauncherConfig.MIB;

    private final VmLauncher launcher;

    public VmResourcesIsolator(VmLauncher launcher) {
        this.launcher = launcher;
    }

    @Override
    public String name() {
        return "vm/resources";
    }

    @Override
    public boolean appliesTo(Isolation isolation) {
        return isolation == Isolation.VM;
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws IOException {
        ContainerConfig config = context.config();
        return LaunchInfo.newBuilder().setVm(VmLaunchInfo.newBuilder()
                .setVcpus(vcpus(config))
                .setMemoryBytes(memoryBytes(config, launcher.config())))
                .build();
    }

    static int vcpus(ContainerConfig config) {
        if (config.getVm().getVcpus() > 0) {
            return config.getVm().getVcpus();
        }
        double cpus = config.getResources().getCpus();
        return cpus > 0 ? (int) Math.ceil(cpus) : 1;
    }

    /** An explicit size is kept as asked (the launcher refuses one below its minimum). */
    static long memoryBytes(ContainerConfig config, VmLauncherConfig launcher) throws IOException {
        if (config.getVm().getMemoryBytes() > 0) {
            return config.getVm().getMemoryBytes();
        }
        long task = config.getResources().getMemoryBytes();
        long wanted = task > 0 ? task + guestOverheadBytes(config, launcher) : DEFAULT_MEMORY_BYTES;
        return roundUpToMib(Math.max(wanted, launcher.minMemoryBytes()));
    }

    /**
     * What the guest uses besides the task: the kernel image, the initramfs twice while it unpacks
     * (the archive and its files in the rootfs tmpfs), and the agent's JVM.
     */
    static long guestOverheadBytes(ContainerConfig config, VmLauncherConfig launcher) throws IOException {
        Path kernel = config.getVm().getKernel().isEmpty() ? launcher.kernel() : Path.of(config.getVm().getKernel());
        Path initrd = config.getVm().getInitrd().isEmpty() ? launcher.initrd() : Path.of(config.getVm().getInitrd());
        return sizeOrZero(kernel) + 2 * sizeOrZero(initrd) + AGENT_JVM_BYTES;
    }

    /** A missing artifact is the launcher's to report, naming its field; here it only weighs nothing. */
    private static long sizeOrZero(Path file) throws IOException {
        return Files.isRegularFile(file) ? Files.size(file) : 0;
    }

    private static long roundUpToMib(long bytes) {
        return (bytes + VmLauncherConfig.MIB - 1) / VmLauncherConfig.MIB * VmLauncherConfig.MIB;
    }

    @Override
    public void update(ContainerContext context, Resources resources) throws Exception {
        launcher.runningTask(context.containerId())
                .orElseThrow(() -> new VesselException(ErrorCode.FAILED_PRECONDITION, context.containerId(),
                        "its VM is not running"))
                .update(resources);
    }

    @Override
    public ResourceStatistics usage(ContainerContext context) throws Exception {
        var task = launcher.runningTask(context.containerId());
        return task.isPresent() ? task.get().usage() : ResourceStatistics.getDefaultInstance();
    }
}
