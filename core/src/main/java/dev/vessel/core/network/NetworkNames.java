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

    /**
     * Whether the node gives the container resolver files of its own ({@code /etc/resolv.conf}, {@code /etc/hosts},
     * {@code /etc/hostname}): a process container's; of the VM tasks only a standalone one on CNI networks, not a full
     * VM (cloud-init's) — the others' guest keeps its rootfs's own. (A pod has no filesystem to give them to.)
     */
    public static boolean getsResolverFiles(ContainerConfig config) {
        return switch (config.getIsolation()) {
            case VM -> config.getParentId().isEmpty() && !config.getPod() && !config.getVm().hasMachine()
                    && !cniAttachments(config).isEmpty();
            default -> true;
        };
    }

    /** The config's CNI networks, in order: its attachments less {@code host} and {@code none}. */
    public static List<NetworkAttachment> cniAttachments(ContainerConfig config) {
        return config.getNetworksList().stream().filter(n -> !isReserved(n.getNetwork())).toList();
    }
}
