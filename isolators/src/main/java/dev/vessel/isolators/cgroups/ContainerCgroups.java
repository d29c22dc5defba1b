package dev.vessel.isolators.cgroups;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A container's cgroup directories, one per controller (on v2 all controllers share one). Provided
 * by {@link CgroupsIsolator} to the controller isolators under {@link CgroupKeys#CGROUPS}.
 */
public record ContainerCgroups(Map<String, Path> directories, Map<String, Integer> versions) {
    public Optional<Path> of(String controller) {
        return Optional.ofNullable(directories.get(controller));
    }

    public int version(String controller) {
        return versions.getOrDefault(controller, 0);
    }

    /** The container's directory in the v2 hierarchy, if any controller is managed there. */
    public Optional<Path> unified() {
        return directories.entrySet().stream().filter(e -> version(e.getKey()) == 2).map(Map.Entry::getValue)
                .findFirst();
    }

    /** Every distinct directory, each once (v2 shares one between controllers). */
    public Set<Path> distinctDirectories() {
        return new LinkedHashSet<>(directories.values());
    }
}
