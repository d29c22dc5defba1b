package dev.vessel.isolators.cgroups;

import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.PrepareContext;
import java.nio.file.Path;
import java.util.Map;

/**
 * The hugetlb controller: how many bytes of each huge page size a process container may use (the resources'
 * {@code hugepage_limits}, what Kubernetes sends through an OCI bundle: 0 for each size it did not ask for). v1's
 * {@code hugetlb.<size>.limit_in_bytes}, v2's {@code hugetlb.<size>.max}, and their reservation counterparts where
 * the kernel has them, as runc writes them. Only a container with limits is placed with this controller
 * ({@link CgroupsIsolator#HUGETLB}), so an update may change its limits but not whether it has any (the validator's
 * rule).
 */
public final class HugetlbIsolator extends CgroupControllerIsolator {
    public HugetlbIsolator(CgroupsIsolator cgroups) {
        super(CgroupsIsolator.HUGETLB, cgroups);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        ContainerCgroups cg = context.get(CgroupKeys.CGROUPS);
        cg.of(CgroupsIsolator.HUGETLB).ifPresent(dir -> apply(dir, cg.version(CgroupsIsolator.HUGETLB),
                context.config().getResources().getHugepageLimitsMap()));
        return LaunchInfo.getDefaultInstance();
    }

    /** New limits for the sizes given (the validator keeps a container with limits, and one without, so). */
    @Override
    public void update(ContainerContext context, Resources resources) {
        ContainerCgroups cg = cgroups.cgroupsOf(context);
        cg.of(CgroupsIsolator.HUGETLB).ifPresent(dir -> apply(dir, cg.version(CgroupsIsolator.HUGETLB),
                resources.getHugepageLimitsMap()));
    }

    private static void apply(Path dir, int version, Map<String, Long> limits) {
        limits.forEach((size, bytes) -> {
            String limit = "hugetlb." + size + (version == 1 ? ".limit_in_bytes" : ".max");
            String reservation = "hugetlb." + size + (version == 1 ? ".rsvd.limit_in_bytes" : ".rsvd.max");
            CgroupFiles.write(dir, limit, Long.toString(bytes));
            if (CgroupFiles.exists(dir, reservation)) {
                CgroupFiles.write(dir, reservation, Long.toString(bytes));
            }
        });
    }
}
