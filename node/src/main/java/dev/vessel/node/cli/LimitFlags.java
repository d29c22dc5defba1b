package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.cpu.CpuQuota;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * The resource limits {@code run} sets and {@code update} changes, as podman's flags: memory and its reservation,
 * CPUs (as a fraction, or as a quota over a period), their weight and which ones (a cpuset), processes. The daemon
 * checks each value against the node and the others (a reservation above the limit, a weight out of range, a CPU not
 * online) and names the field; here only what the API cannot tell from its default.
 */
final class LimitFlags {
    @Option(names = {"-m", "--memory"}, paramLabel = "SIZE", converter = Sizes.class, description = "memory limit: 64m,"
            + " 1g…")
    private Long memory;
    @Option(names = "--memory-reservation", paramLabel = "SIZE", converter = Sizes.class, description = "memory the"
            + " container keeps when the host runs short (a soft limit), at most --memory")
    private Long memoryReservation;
    @Option(names = "--cpus", paramLabel = "N", description = "CPU limit, fractional: 0.5")
    private Double cpus;
    @Option(names = "--cpu-quota", paramLabel = "µS", description = "the CPU time it may use in each --cpu-period,"
            + " the limit --cpus says as a fraction: 50000 of 100000 is 0.5; -1 for no limit")
    private Long cpuQuota;
    @Option(names = "--cpu-period", paramLabel = "µS", description = "the period --cpu-quota counts against, 1000 to"
            + " 1000000 (default 100000); Vessel enforces the limit over 100 ms")
    private Long cpuPeriod;
    @Option(names = {"-c", "--cpu-shares"}, paramLabel = "N", description = "CPU weight against other containers,"
            + " 2 to 262144 (default: 1024 a CPU of --cpus, else 1024)")
    private Long cpuShares;
    @Option(names = "--cpuset-cpus", paramLabel = "LIST", description = "the CPUs it may run on: 0-3,6")
    private String cpusetCpus;
    @Option(names = "--cpuset-mems", paramLabel = "LIST", description = "the NUMA memory nodes it may allocate from: 0")
    private String cpusetMems;
    @Option(names = "--pids-limit", paramLabel = "N",
            description = "the most processes and threads, default 2048; -1 for no limit")
    private Long pidsLimit;

    /** podman's {@code --cpu-quota} over {@code --cpu-period} as the share of CPUs the config keeps; 0: none. */
    private double cpusOfQuota(CommandSpec spec) {
        if (cpus != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--cpus: give it or --cpu-quota and"
                    + " --cpu-period, which say the same limit, not both");
        }
        if (cpuQuota == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--cpu-period: give it with --cpu-quota:"
                    + " a period alone limits nothing");
        }
        long period = cpuPeriod != null ? cpuPeriod : CpuQuota.PERIOD_US;
        CpuQuota.periodProblem(period).ifPresent(p -> {
            throw new CommandLine.ParameterException(spec.commandLine(), "--cpu-period: " + p);
        });
        if (cpuQuota == -1) {
            return 0;
        }
        if (cpuQuota < CpuQuota.MIN_QUOTA_US) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--cpu-quota: must be at least "
                    + CpuQuota.MIN_QUOTA_US + " µs, or -1 for no limit, not " + cpuQuota);
        }
        return CpuQuota.cpus(cpuQuota, period);
    }

    /** Whether any limit was given. */
    boolean any() {
        return memory != null || memoryReservation != null || cpus != null || cpuQuota != null || cpuPeriod != null
                || cpuShares != null || cpusetCpus != null || cpusetMems != null || pidsLimit != null;
    }

    /** Puts the limits given into {@code resources} (a config's), over what is there. */
    void putInto(ObjectNode resources, CommandSpec spec) {
        if (pidsLimit != null) {
            if (pidsLimit <= 0 && pidsLimit != -1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--pids-limit: must be a positive"
                        + " number of processes or -1 (no limit), not " + pidsLimit);
            }
            resources.put("pids", pidsLimit);
        }
        if (memory != null) {
            resources.put("memory_bytes", memory);
        }
        if (memoryReservation != null) {
            resources.put("memory_reservation_bytes", memoryReservation);
        }
        if (cpus != null) {
            if (!(cpus > 0)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--cpus: must be more than 0");
            }
            resources.put("cpus", cpus);
        }
        if (cpuQuota != null || cpuPeriod != null) {
            resources.put("cpus", cpusOfQuota(spec));
        }
        if (cpuShares != null) {
            resources.put("cpu_shares", cpuShares);
        }
        if (cpusetCpus != null) {
            resources.put("cpuset_cpus", cpusetCpus);
        }
        if (cpusetMems != null) {
            resources.put("cpuset_mems", cpusetMems);
        }
    }
}
