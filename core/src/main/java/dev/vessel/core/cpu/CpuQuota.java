package dev.vessel.core.cpu;

import java.util.Optional;

/**
 * A container's CPU limit (its resources' {@code cpus}) as the kernel's CFS bandwidth control enforces it: a quota of
 * run time in every period, the one rule for a process container's cgroup and a VM task's domain.
 */
public final class CpuQuota {
    /** The period Vessel enforces every CPU limit over, and that an OCI quota counts against without one. */
    public static final long PERIOD_US = 100_000;
    /** The smallest quota the kernel takes. */
    public static final long MIN_QUOTA_US = 1000;
    /** The periods the kernel takes. */
    private static final long MIN_PERIOD_US = 1000, MAX_PERIOD_US = 1_000_000;

    private CpuQuota() {
    }

    /** What is wrong with {@code periodUs} as a period someone asked for; empty when it is one. */
    public static Optional<String> periodProblem(long periodUs) {
        return periodUs >= MIN_PERIOD_US && periodUs <= MAX_PERIOD_US ? Optional.empty()
                : Optional.of(periodUs + " is not a period in µs (" + MIN_PERIOD_US + " to " + MAX_PERIOD_US + ")");
    }

    /** The CPUs a quota of {@code quotaUs} in every {@code periodUs} (0: {@link #PERIOD_US}) says. */
    public static double cpus(long quotaUs, long periodUs) {
        return (double) quotaUs / (periodUs > 0 ? periodUs : PERIOD_US);
    }

    /** The quota in µs of {@link #PERIOD_US} that caps a container at {@code cpus} CPUs; -1 (none) for 0. */
    public static long quotaUs(double cpus) {
        return cpus > 0 ? Math.max(MIN_QUOTA_US, Math.round(cpus * PERIOD_US)) : -1;
    }
}
