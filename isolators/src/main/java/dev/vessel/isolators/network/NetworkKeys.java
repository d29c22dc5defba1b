package dev.vessel.isolators.network;

import dev.vessel.core.spi.Key;
import java.nio.file.Path;

/** Keys the network isolator provides to others (e.g. a VM launcher's tap isolator). */
public final class NetworkKeys {
    /**
     * The network namespace the task runs in: the container's own (a bind-mounted netns file) when it
     * is attached to networks, else the daemon's, as {@code /proc/<daemon pid>/ns/net}.
     */
    public static final Key<Path> NETNS = Key.of("netns", Path.class);

    private NetworkKeys() {
    }
}
