package dev.vessel.isolators.cgroups;

import dev.vessel.core.cpu.CpuQuota;
import dev.vessel.core.cpu.CpuWeight;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.PrepareContext;
import java.nio.file.Path;
import java.util.Map;

/**
 * The cpu controller: a weight (the resources' {@code cpu_shares}, else proportional to the container's CPUs) and
 * a CFS quota that caps it at its CPUs (0.5 CPUs: 50 ms of every 100 ms). Usage: CPU time and throttling.
 */
public final class CpuIsolator extends CgroupControllerIsolator {
    private static final String CONTROLLER = "cpu";

    public CpuIsolator(CgroupsIsolator cgroups) {
        super(CONTROLLER, cgroups);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        ContainerCgroups cg = context.get(CgroupKeys.CGROUPS);
        cg.of(CONTROLLER).ifPresent(dir -> apply(dir, cg.version(CONTROLLER), context.config().getResources(), true));
        return LaunchInfo.getDefaultInstance();
    }

    /**
     * {@code fresh}: the cgroup was made just now (the cgroups isolator refuses one that exists), so a v2 quota of
     * none is already there ({@code max 100000}) and not written again.
     */
    private static void apply(Path dir, int version, Resources resources, boolean fresh) {
        long shares = CpuWeight.shares(resources);
        long quota = CpuQuota.quotaUs(resources.getCpus());
        if (version == 1) {
            CgroupFiles.write(dir, "cpu.shares", Long.toString(shares));
            CgroupFiles.write(dir, "cpu.cfs_period_us", Long.toString(CpuQuota.PERIOD_US));
            CgroupFiles.write(dir, "cpu.cfs_quota_us", Long.toString(quota));
        } else {
            CgroupFiles.write(dir, "cpu.weight", Long.toString(CpuWeight.v2Weight(shares)));
            if (quota > 0 || !fresh) {
                CgroupFiles.write(dir, "cpu.max",
                        (quota > 0 ? Long.toString(quota) : "max") + " " + CpuQuota.PERIOD_US);
            }
        }
    }

    @Override
    public void update(ContainerContext context, Resources resources) {
        ContainerCgroups cg = cgroups.cgroupsOf(context);
        cg.of(CONTROLLER).ifPresent(dir -> apply(dir, cg.version(CONTROLLER), resources, false));
    }

    @Override
    public ResourceStatistics usage(ContainerContext context) {
        ContainerCgroups cg = cgroups.cgroupsOf(context);
        ResourceStatistics.Builder stats = ResourceStatistics.newBuilder();
        cg.of(CONTROLLER).ifPresent(dir -> {
            Map<String, Long> stat = CgroupFiles.readKeyed(dir, "cpu.stat");
            stats.setCpuPeriods(stat.getOrDefault("nr_periods", 0L))
                    .setCpuThrottledPeriods(stat.getOrDefault("nr_throttled", 0L));
            if (cg.version(CONTROLLER) == 1) {
                stats.setCpuThrottledSeconds(stat.getOrDefault("throttled_time", 0L) / 1e9);
                // cpu time is in the cpuacct hierarchy on v1
                cg.of("cpuacct").ifPresent(acct -> stats
                        .setCpuUserSeconds(CgroupFiles.readLong(acct, "cpuacct.usage_user") / 1e9)
                        .setCpuSystemSeconds(CgroupFiles.readLong(acct, "cpuacct.usage_sys") / 1e9));
            } else {
                stats.setCpuThrottledSeconds(stat.getOrDefault("throttled_usec", 0L) / 1e6)
                        .setCpuUserSeconds(stat.getOrDefault("user_usec", 0L) / 1e6)
                        .setCpuSystemSeconds(stat.getOrDefault("system_usec", 0L) / 1e6);
            }
        });
        return stats.build();
    }
}
