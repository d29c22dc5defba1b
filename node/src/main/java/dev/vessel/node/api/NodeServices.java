package dev.vessel.node.api;

import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.core.volume.NamedVolumes;
import dev.vessel.launcher.process.LogReader;
import dev.vessel.launcher.vm.VmLauncher;
import dev.vessel.node.machines.MachineSnapshots;
import dev.vessel.node.machines.Machines;
import dev.vessel.node.network.CniNetworks;
import dev.vessel.provisioner.ImageProvisioner;

/** What the API serves: the node's components, built and recovered by the daemon, and its recent events. */
public record NodeServices(Containerizer containerizer, ImageProvisioner images, LogReader logs, RuntimePaths paths,
        NodeInfo info, VmLauncher vms, Machines machines, MachineSnapshots machineSnapshots,
        GpuAllocator gpus, CniNetworks networks, NamedVolumes volumes,
        EventLog events) implements AutoCloseable {

    /** The node's facts with its GPUs' holders as they are now. */
    public NodeInfo currentInfo() {
        return info.withGpus(GpuInfo.of(gpus));
    }

    /** At shutdown: releases what the launchers hold (running tasks and VMs keep running). */
    @Override
    public void close() throws Exception {
        vms.close(); // the process launcher holds nothing: its tasks' monitors are their own processes
    }
}
