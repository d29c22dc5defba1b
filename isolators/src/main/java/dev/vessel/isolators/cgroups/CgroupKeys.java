package dev.vessel.isolators.cgroups;

import dev.vessel.core.spi.Key;

/** Keys the cgroup isolators pass between them. */
public final class CgroupKeys {
    /** The container's cgroup directories, created by {@link CgroupsIsolator}. */
    public static final Key<ContainerCgroups> CGROUPS = Key.of("cgroups", ContainerCgroups.class);

    private CgroupKeys() {
    }
}
