package dev.vessel.isolators.linux;

import dev.vessel.core.spi.Key;

/** Keys {@code linux/capabilities} provides to the isolators whose policy follows the container's capabilities. */
public final class CapabilityKeys {
    /** The capabilities the container's task holds at most (its bounding set). */
    public static final Key<ContainerCapabilities> CAPABILITIES = Key.of("capabilities", ContainerCapabilities.class);

    private CapabilityKeys() {
    }
}
