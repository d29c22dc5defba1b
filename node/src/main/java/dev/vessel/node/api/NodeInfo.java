package dev.vessel.node.api;

import java.util.List;

/**
 * Facts about this node for {@code GET /v1/info}, gathered once at start.
 *
 * @param accelerator "kvm" when VMs can use hardware virtualisation here, else "tcg"
 */
public record NodeInfo(String version, String javaVersion, String kernel, String cgroupMode, String accelerator,
        boolean devKvm, boolean cpuVirtualization, List<String> launchers, List<String> isolators, String stateDir,
        String runDir) {
    public NodeInfo {
        launchers = List.copyOf(launchers);
        isolators = List.copyOf(isolators);
    }
}
