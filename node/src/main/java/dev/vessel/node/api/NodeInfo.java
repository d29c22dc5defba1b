package dev.vessel.node.api;

import java.util.List;

/**
 * Facts about this node for {@code GET /v1/info}, gathered once at start; the GPUs' holders when asked.
 *
 * @param accelerator "kvm" when VMs can use hardware virtualisation here, else "tcg"
 * @param isolators   the isolator chain of each isolation class
 * @param gpus        the node's GPUs, each with the container holding it
 */
public record NodeInfo(String version, String javaVersion, String kernel, String cgroupMode, String accelerator,
        boolean devKvm, boolean cpuVirtualization, List<String> launchers, Isolators isolators, String stateDir,
        String runDir, List<GpuInfo> gpus) {
    public NodeInfo {
        launchers = List.copyOf(launchers);
        gpus = List.copyOf(gpus);
    }

    public NodeInfo withGpus(List<GpuInfo> now) {
        return new NodeInfo(version, javaVersion, kernel, cgroupMode, accelerator, devKvm, cpuVirtualization, launchers,
                isolators, stateDir, runDir, now);
    }

    /**
     * Isolator names in chain order.
     *
     * @param process on this host, for process tasks
     * @param vm      on this host, for VM tasks
     * @param vmGuest inside a VM's guest, for its task (those of them the guest's cgroups allow)
     */
    public record Isolators(List<String> process, List<String> vm, List<String> vmGuest) {
        public Isolators {
            process = List.copyOf(process);
            vm = List.copyOf(vm);
            vmGuest = List.copyOf(vmGuest);
        }
    }
}
