package dev.vessel.node.daemon;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.isolators.cgroups.DevicesIsolator;
import dev.vessel.linux.CgroupHierarchies;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** What the node learns about its host beyond what the launchers detect themselves, and what it refuses to run on. */
final class HostProbe {
    private HostProbe() {
    }

    static String kernelRelease() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (IOException e) {
            return System.getProperty("os.version");
        }
    }

    /** Why this host cannot confine containers' devices (see {@link DevicesIsolator#unavailable}); empty if it can. */
    static Optional<String> deviceConfinementUnavailable(CgroupHierarchies hierarchies) {
        return DevicesIsolator.unavailable(hierarchies);
    }

    /**
     * Refuses a host where containers' devices cannot be confined: a container holding CAP_MKNOD (an
     * {@code add} away) could make and open the host's disks. {@code allowUnconfined} is the operator's
     * explicit way past it.
     *
     * @param unavailable the probe's answer, {@link #deviceConfinementUnavailable}
     */
    static void requireDeviceConfinement(Optional<String> unavailable, boolean allowUnconfined) {
        if (unavailable.isPresent() && !allowUnconfined) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "allow_unconfined_devices",
                    "this host cannot confine containers' devices: " + unavailable.get() + ". Mount the v1 devices"
                    + " controller (or run on cgroup v2 with the memory, pids or cpu controller), or start with"
                    + " --allow-unconfined-devices to run containers that may open any device node they can make");
        }
    }
}
