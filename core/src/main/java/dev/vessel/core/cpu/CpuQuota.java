package dev.vessel.core.cpu;

/**
 * A container's CPU limit (its resources' {@code cpus}) as the kernel's CFS bandwidth control enforces it: a quota of
 * run time in every period, the one rule for a process container's cgroup and a VM task's domain.
 */
public final class CpuQuota {
    /** The period Vessel enforces every CPU limit over, and that an OCI quota counts against without one. */
    public static final long PERIOD_US = 100_000;
    /** The smallest quota the kernel takes. */
    private static final long MIN_QUOTA_US = 1000;

    private CpuQuota() {
    }

    /** The quota in µs of {@link #PERIOD_US} that caps a container at {@code cpus} CPUs; -1 (none) for 0. */
    public static long quotaUs(double cpus) {
        return cpus > 0 ? Math.max(MIN_QUOTA_US, Math.round(cpus * PERIOD_US)) : -1;
    }
}
