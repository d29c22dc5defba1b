package dev.vessel.isolators.network;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * One CNI network: a network configuration list (CNI spec 1.0), or a single-plugin {@code .conf}
 * turned into a list of one. Kept as read, so a DEL runs with the configuration the ADD used.
 */
public record NetworkConfig(String name, String cniVersion, List<ObjectNode> plugins) {
    public NetworkConfig {
        plugins = List.copyOf(plugins);
    }

    /** The {@code type} of each plugin, in order. */
    public List<String> types() {
        return plugins.stream().map(p -> p.path("type").asText()).toList();
    }
}
