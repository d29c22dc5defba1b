package dev.vessel.isolators.vm;

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
import dev.vessel.core.vm.RunningVms;
import dev.vessel.core.vm.VmSizing;
import java.io.IOException;

/**
 * Sizes a VM task's machine: vCPUs and guest memory, by the rules of {@link VmSizing} (where its vCPUs run, its
 * cpuset, is the VM launcher's to pin). Changes and statistics of a running task go to the guest, whose isolators
 * enforce and measure them.
 */
public final class VmResourcesIsolator implements Isolator {
    private final VmSizing sizing;
    private final RunningVms vms;

    /** @param vms the VM tasks running now (the VM launcher's), for {@code update} and {@code usage} */
    public VmResourcesIsolator(VmSizing sizing, RunningVms vms) {
        this.sizing = sizing;
        this.vms = vms;
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
                .setVcpus(VmSizing.vcpus(config))
                .setMemoryBytes(sizing.memoryBytes(config)))
                .build();
    }

    /**
     * The guest's limits change; the VM's CPU pinning, made when it booted, stays: a different cpuset is refused, and
     * the guest is not told the host's CPU numbers, nor the host's huge page limits (0 for a VM task).
     */
    @Override
    public void update(ContainerContext context, Resources resources) throws Exception {
        Resources booted = context.config().getResources();
        if (!resources.getCpusetCpus().strip().equals(booted.getCpusetCpus().strip())
                || !resources.getCpusetMems().strip().equals(booted.getCpusetMems().strip())) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION,
                    resources.getCpusetCpus().strip().equals(booted.getCpusetCpus().strip())
                            ? "resources.cpuset_mems" : "resources.cpuset_cpus",
                    "a VM task's CPUs and memory nodes are pinned when its VM boots and cannot change while it runs");
        }
        vms.runningTask(context.containerId())
                .orElseThrow(() -> new VesselException(ErrorCode.FAILED_PRECONDITION, context.containerId(),
                        "its VM is not running"))
                .update(resources.toBuilder().clearCpusetCpus().clearCpusetMems().clearHugepageLimits().build());
    }

    @Override
    public ResourceStatistics usage(ContainerContext context) throws Exception {
        var task = vms.runningTask(context.containerId());
        return task.isPresent() ? task.get().usage() : ResourceStatistics.getDefaultInstance();
    }
}
