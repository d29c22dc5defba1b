package dev.vessel.isolators.linux;

import dev.vessel.linux.Capability;
import java.util.Set;
import java.util.stream.Collectors;

/** The capabilities {@code linux/capabilities} gives a container: its bounding set. */
public record ContainerCapabilities(Set<Capability> set) {
    public ContainerCapabilities {
        set = Set.copyOf(set);
    }

    /** Their names, e.g. CAP_SYS_ADMIN. */
    public Set<String> names() {
        return set.stream().map(Capability::name).collect(Collectors.toUnmodifiableSet());
    }
}
