package dev.vessel.core.spi;

import java.nio.file.Path;

/**
 * Keys a network isolator provides to others: the CNI isolator to the VM launcher's network isolator,
 * which gives the guest NICs connected to the container's interfaces. In core because the two live
 * in modules that do not depend on each other.
 */
public final class NetworkKeys {
    /**
     * The network namespace holding the container's CNI interfaces: its own (a bind-mounted netns
     * file) when it is attached to CNI networks, else the daemon's, as {@code /proc/<daemon pid>/ns/net}
     * (where a process task without CNI networks runs is the {@code namespaces} isolator's choice).
     */
    public static final Key<Path> NETNS = Key.of("netns", Path.class);

    private NetworkKeys() {
    }
}
