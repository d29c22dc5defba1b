package dev.vessel.core.spi;

import java.nio.file.Path;

/**
 * Keys a network isolator provides to others: the CNI isolator to the VM launcher's network isolator,
 * which gives the guest NICs connected to the container's interfaces. In core because the two live
 * in modules that do not depend on each other.
 */
public final class NetworkKeys {
    /**
     * The network namespace the task runs in: the container's own (a bind-mounted netns file) when it
     * is attached to networks, else the daemon's, as {@code /proc/<daemon pid>/ns/net}.
     */
    public static final Key<Path> NETNS = Key.of("netns", Path.class);

    private NetworkKeys() {
    }
}
