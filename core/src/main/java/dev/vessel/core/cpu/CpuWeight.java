package dev.vessel.core.cpu;

import dev.vessel.core.model.Resources;
import java.util.Optional;

/**
 * A container's CPU weight against the others when CPU is scarce: the one rule for a process container's cgroup and
 * a VM task's domain. In cgroup v1's {@code cpu.shares} units; {@link #v2Weight} maps it to v2's {@code cpu.weight}.
 */
public final class CpuWeight {
    /** The kernel's weight of a cgroup nobody set: one CPU's worth. */
    public static final long DEFAULT_SHARES = 1024;
    /** What cgroup v1's {@code cpu.shares} takes. */
    public static final long MIN_SHARES = 2, MAX_SHARES = 262_144;

    private CpuWeight() {
    }

    /** The resources' {@code cpu_shares}, else {@link #DEFAULT_SHARES} a CPU of its limit ({@code cpus}), else one. */
    public static long shares(Resources resources) {
        if (resources.getCpuShares() > 0) {
            return resources.getCpuShares();
        }
        double cpus = resources.getCpus();
        return cpus > 0 ? Math.max(2, Math.round(cpus * DEFAULT_SHARES)) : DEFAULT_SHARES;
    }

    /** What is wrong with {@code shares} as a weight someone asked for; empty when it is one. */
    public static Optional<String> problem(long shares) {
        return shares >= MIN_SHARES && shares <= MAX_SHARES ? Optional.empty()
                : Optional.of(shares + " is not a CPU weight from " + MIN_SHARES + " to " + MAX_SHARES);
    }

    /** The mapping runc and systemd use from v1 shares [2, 262144] to v2 weight [1, 10000]. */
    public static long v2Weight(long shares) {
        return 1 + ((shares - 2) * 9999) / 262142;
    }
}
