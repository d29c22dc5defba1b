package dev.vessel.isolators.linux;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.CapabilitySet;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.linux.Capability;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The container's capabilities: {@link Capability#CONTAINER_DEFAULT podman's default set}, minus the
 * config's {@code drop}, plus its {@code add} ("ALL" allowed on both; drop first, so "drop ALL, add X"
 * leaves only X). The launch gets the set a root task holds: bounding = permitted = effective; nothing
 * inheritable or ambient. The launcher narrows it for a non-root user. It provides the set to the
 * isolators whose policy follows it ({@code linux/seccomp}).
 */
public final class LinuxCapabilitiesIsolator implements Isolator {
    @Override
    public String name() {
        return "linux/capabilities";
    }

    @Override
    public Set<Key<?>> provides() {
        return Set.of(CapabilityKeys.CAPABILITIES);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        Set<Capability> set = capabilities(context.config().getCapabilities());
        context.put(CapabilityKeys.CAPABILITIES, new ContainerCapabilities(set));
        List<String> names = set.stream().map(Capability::name).toList();
        return LaunchInfo.newBuilder().setCapabilities(CapabilitySet.newBuilder()
                .addAllBounding(names).addAllPermitted(names).addAllEffective(names)).build();
    }

    static Set<Capability> capabilities(Capabilities config) {
        Set<Capability> set = EnumSet.copyOf(Capability.CONTAINER_DEFAULT);
        for (int i = 0; i < config.getDropCount(); i++) {
            String name = config.getDrop(i);
            if (name.equalsIgnoreCase(Capability.ALL)) {
                set.clear();
            } else {
                set.remove(parse("capabilities.drop[" + i + "]", name));
            }
        }
        for (int i = 0; i < config.getAddCount(); i++) {
            String name = config.getAdd(i);
            if (name.equalsIgnoreCase(Capability.ALL)) {
                set.addAll(EnumSet.allOf(Capability.class));
            } else {
                set.add(parse("capabilities.add[" + i + "]", name));
            }
        }
        return set;
    }

    // The validator refuses unknown names already; this guards configs that bypassed it.
    private static Capability parse(String field, String name) {
        return Capability.parse(name)
                .orElseThrow(() -> VesselException.invalid(field, "unknown capability '" + name + "'"));
    }
}
