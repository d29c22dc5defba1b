package dev.vessel.isolators.cgroups;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import java.util.List;
import java.util.Set;

/**
 * The devices controller: deny every device, then allow the standard set a container's minimal /dev
 * holds (the same list as runc's defaults). Opening anything else fails with EPERM, even as root.
 */
public final class DevicesIsolator implements Isolator {
    private static final String CONTROLLER = "devices";

    /** type major:minor access, as devices.allow takes them. */
    static final List<String> ALLOWED = List.of(
            "c 1:3 rwm",    // /dev/null
            "c 1:5 rwm",    // /dev/zero
            "c 1:7 rwm",    // /dev/full
            "c 1:8 rwm",    // /dev/random
            "c 1:9 rwm",    // /dev/urandom
            "c 5:0 rwm",    // /dev/tty
            "c 5:2 rwm",    // /dev/ptmx
            "c 136:* rwm",  // /dev/pts/*
            "c *:* m",      // mknod of character devices (using them is still denied)
            "b *:* m");     // mknod of block devices

    public DevicesIsolator(CgroupHierarchies hierarchies) {
        if (hierarchies.forController(CONTROLLER).isEmpty()) {
            // v2 controls devices with an eBPF program attached to the cgroup, which Vessel does not load yet
            throw new VesselException(ErrorCode.UNAVAILABLE, "isolators",
                    "the cgroups/devices isolator needs the v1 devices controller, which this host does not mount");
        }
    }

    @Override
    public String name() {
        return "cgroups/devices";
    }

    @Override
    public Set<Key<?>> requires() {
        return Set.of(CgroupKeys.CGROUPS);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        context.get(CgroupKeys.CGROUPS).of(CONTROLLER).ifPresent(dir -> {
            CgroupFiles.write(dir, "devices.deny", "a");
            ALLOWED.forEach(rule -> CgroupFiles.write(dir, "devices.allow", rule));
        });
        return LaunchInfo.getDefaultInstance();
    }
}
