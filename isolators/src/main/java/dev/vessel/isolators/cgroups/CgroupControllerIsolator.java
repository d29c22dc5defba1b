package dev.vessel.isolators.cgroups;

import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import java.util.Set;

/**
 * What the isolators of single cgroup controllers share: the name {@code cgroups/<controller>}, and
 * the container's cgroups, which {@link CgroupsIsolator} creates before they prepare.
 */
abstract class CgroupControllerIsolator implements Isolator {
    private final String controller;
    protected final CgroupsIsolator cgroups;

    CgroupControllerIsolator(String controller, CgroupsIsolator cgroups) {
        this.controller = controller;
        this.cgroups = cgroups;
    }

    @Override
    public final String name() {
        return "cgroups/" + controller;
    }

    @Override
    public final Set<Key<?>> requires() {
        return Set.of(CgroupKeys.CGROUPS);
    }
}
