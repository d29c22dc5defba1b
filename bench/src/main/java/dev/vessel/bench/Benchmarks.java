package dev.vessel.bench;

import java.util.ArrayList;
import java.util.List;

/** Entry point of {@code bench/run}: runs the named benchmarks (all by default). */
public final class Benchmarks {
    private static final List<String> PROCESS = List.of("process-launch", "process-throughput");
    private static final String IMAGE_PULL = "image-pull";
    private static final String NODE_LAUNCH = "node-launch";
    private static final String VM_LAUNCH = "vm-launch";
    private static final String HOSTILE_API = "hostile-api";
    private static final String FULL_VM = "full-vm";
    private static final String OCI = "oci";
    private static final String EXEC = "exec";
    /** exec's second run, with a VM task: bench/run starts it outside crun's namespace (see ExecBench). */
    private static final String EXEC_VM = "exec-vm";

    private Benchmarks() {
    }

    public static void main(String[] args) throws Exception {
        List<String> names = args.length == 0 ? List.of("process-launch", "process-throughput", IMAGE_PULL, NODE_LAUNCH,
                VM_LAUNCH, HOSTILE_API, FULL_VM, OCI, EXEC, EXEC_VM)
                : List.of(args);
        List<String> process = new ArrayList<>();
        for (String name : names) {
            if (PROCESS.contains(name)) {
                process.add(name);
            } else if (!List.of(IMAGE_PULL, NODE_LAUNCH, VM_LAUNCH, HOSTILE_API, FULL_VM, OCI, EXEC, EXEC_VM).contains(name)) {
                throw new IllegalArgumentException("unknown benchmark '" + name + "' (process-launch, "
                        + "process-throughput, image-pull, node-launch, vm-launch, hostile-api, full-vm, oci, exec, exec-vm)");
            }
        }
        if (!process.isEmpty()) {
            ProcessLaunchBench.main(process.toArray(String[]::new));
        }
        if (names.contains(IMAGE_PULL)) {
            ImagePullBench.main(new String[0]);
        }
        if (names.contains(NODE_LAUNCH)) {
            NodeLaunchBench.main(new String[0]);
        }
        if (names.contains(VM_LAUNCH)) {
            VmLaunchBench.main(new String[0]);
        }
        if (names.contains(HOSTILE_API)) {
            HostileApiBench.main(new String[0]);
        }
        if (names.contains(FULL_VM)) {
            FullVmBench.main(new String[0]);
        }
        if (names.contains(OCI)) {
            OciBench.main(new String[0]);
        }
        if (names.contains(EXEC)) {
            ExecBench.main(new String[0]);
        }
        if (names.contains(EXEC_VM)) {
            ExecBench.main(new String[] {"vm"});
        }
    }
}
