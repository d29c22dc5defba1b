package dev.vessel.isolators.cgroups;

import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.PrepareContext;
import java.nio.file.Path;

/**
 * The cpuset controller: the CPUs and memory nodes a process container may run on and allocate from (the
 * resources' {@code cpuset_cpus} and {@code cpuset_mems}, podman's {@code --cpuset-cpus}/{@code --cpuset-mems}).
 * Without them its cgroup keeps its parent's, which {@link CgroupsIsolator} copied in on v1 (where a new cpuset has
 * none) and v2 inherits; an update to none gives the parent's back. A VM task's are its VM's (the VM launcher pins
 * its vCPUs): this isolator runs for process containers only.
 */
public final class CpusetIsolator extends CgroupControllerIsolator {
    private static final String CONTROLLER = "cpuset";

    public CpusetIsolator(CgroupsIsolator cgroups) {
        super(CONTROLLER, cgroups);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        ContainerCgroups cg = context.get(CgroupKeys.CGROUPS);
        Resources r = context.config().getResources();
        if (!r.getCpusetCpus().isEmpty() || !r.getCpusetMems().isEmpty()) {
            cg.of(CONTROLLER).ifPresent(dir -> apply(dir, cg.version(CONTROLLER), r));
        }
        return LaunchInfo.getDefaultInstance();
    }

    @Override
    public void update(ContainerContext context, Resources resources) {
        ContainerCgroups cg = cgroups.cgroupsOf(context);
        cg.of(CONTROLLER).ifPresent(dir -> apply(dir, cg.version(CONTROLLER), resources));
    }

    /** Writes each list; where none is asked for, v1 gets its parent's again and v2 an empty one, which inherits. */
    private static void apply(Path dir, int version, Resources r) {
        for (String file : new String[] {"cpuset.cpus", "cpuset.mems"}) {
            String list = file.endsWith("cpus") ? r.getCpusetCpus() : r.getCpusetMems();
            CgroupFiles.write(dir, file, !list.isEmpty() ? list.strip()
                    : version == 1 ? CgroupFiles.read(dir.getParent(), file).orElse("") : "");
        }
    }
}
