package dev.vessel.isolators.cgroups;

import dev.vessel.core.spi.Key;
import java.util.List;

/**
 * Devices a container may open beyond the standard set, in devices.allow syntax ({@code c 195:0 rwm}):
 * what an isolator that hands devices to containers (gpu/nvidia) tells {@link DevicesIsolator}. One
 * list, because on cgroup v2 one BPF program must allow them all: programs attached side by side must
 * each allow an access, so a second program could only take away.
 */
public record AllowedDevices(List<String> rules) {
    public static final Key<AllowedDevices> KEY = Key.of("allowed_devices", AllowedDevices.class);
    public static final AllowedDevices NONE = new AllowedDevices(List.of());

    public AllowedDevices {
        rules = List.copyOf(rules);
    }
}
