package dev.vessel.linux;

import java.nio.file.Path;
import java.util.Set;

/** One mounted cgroup hierarchy: v1 (one hierarchy per controller or group) or the v2 unified one. */
public record CgroupHierarchy(int version, Path mountPoint, Set<String> controllers) {
    public boolean unified() {
        return version == 2;
    }
}
