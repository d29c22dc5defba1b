package dev.vessel.isolators.cgroups;

import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.PrepareContext;

/**
 * The pids controller: caps how many processes and threads a container may have (fork bombs stop there).
 * A config without a limit ({@code resources.pids} 0) gets {@link #DEFAULT_MAX}, as podman's containers
 * do; -1 asks for none (podman's {@code --pids-limit -1}), which still leaves the node's own limit on
 * the cgroup parent above it, if one is set.
 */
public final class PidsIsolator extends CgroupControllerIsolator {
    private static final String CONTROLLER = "pids";
    /** podman's default pids limit. */
    public static final long DEFAULT_MAX = 2048;
    /** {@code resources.pids} asking for no limit. */
    public static final long UNLIMITED = -1;

    public PidsIsolator(CgroupsIsolator cgroups) {
        super(CONTROLLER, cgroups);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        context.get(CgroupKeys.CGROUPS).of(CONTROLLER)
                .ifPresent(dir -> CgroupFiles.write(dir, "pids.max", max(context.config().getResources())));
        return LaunchInfo.getDefaultInstance();
    }

    private static String max(Resources resources) {
        long pids = resources.getPids();
        return pids == UNLIMITED ? "max" : Long.toString(pids > 0 ? pids : DEFAULT_MAX);
    }

    @Override
    public void update(ContainerContext context, Resources resources) {
        cgroups.cgroupsOf(context).of(CONTROLLER)
                .ifPresent(dir -> CgroupFiles.write(dir, "pids.max", max(resources)));
    }

    @Override
    public ResourceStatistics usage(ContainerContext context) {
        return cgroups.cgroupsOf(context).of(CONTROLLER)
                .map(dir -> ResourceStatistics.newBuilder()
                        .setPidsCurrent(CgroupFiles.readLong(dir, "pids.current"))
                        .setPidsLimit(CgroupFiles.read(dir, "pids.max").filter(v -> !v.equals("max"))
                                .map(Long::parseLong).orElse(0L))
                        .build())
                .orElse(ResourceStatistics.getDefaultInstance());
    }
}
