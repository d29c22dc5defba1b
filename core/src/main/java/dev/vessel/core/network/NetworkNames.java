package dev.vessel.core.network;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.NetworkAttachment;
import java.util.List;

/**
 * The network names that are not CNI networks, as podman and Docker reserve them. {@code host}: the
 * task shares the host's network namespace. {@code none}, the default when a config names no network:
 * the task gets a network namespace of its own holding only {@code lo}. Either one stands alone in a
 * config (the validator refuses it next to another network, or with port mappings).
 */
public final class NetworkNames {
    /** Share the host's network namespace. */
    public static final String HOST = "host";
    /** A private network namespace with only {@code lo}: what a config without networks gets. */
    public static final String NONE = "none";

    private NetworkNames() {
    }

    public static boolean isReserved(String network) {
        return HOST.equals(network) || NONE.equals(network);
    }

    /** Whether the config asks for the host's network namespace. */
    public static boolean sharesHost(ContainerConfig config) {
        return config.getNetworksList().stream().anyMatch(n -> HOST.equals(n.getNetwork()));
    }

    /** The config's CNI networks, in order: its attachments less {@code host} and {@code none}. */
    public static List<NetworkAttachment> cniAttachments(ContainerConfig config) {
        return config.getNetworksList().stream().filter(n -> !isReserved(n.getNetwork())).toList();
    }
}
