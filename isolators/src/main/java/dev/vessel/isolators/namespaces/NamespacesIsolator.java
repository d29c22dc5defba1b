package dev.vessel.isolators.namespaces;

import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.IdMapping;
import dev.vessel.core.model.JoinNamespace;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Namespace;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.linux.NamespaceFiles;
import dev.vessel.linux.RtNetlink;
import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Which namespaces every container of this node gets, as the node's configuration says: by default
 * pid, mount, uts, ipc and cgroup. Optionally a user namespace, whose root is an unprivileged range
 * of host ids (the same range for uids and gids).
 *
 * <p>The network namespace follows the container's config: one that names the network {@code host}
 * shares the host's; every other gets a new one (podman's {@code --network none}), whose {@code lo}
 * this isolator brings up in {@code isolate}, before the task runs. A container on CNI networks
 * joins the namespace {@code network/cni} made instead (the launcher lets joining one replace
 * creating one), where {@code lo} is up already; so does one whose config names a
 * {@code network_namespace_path}, which its maker configured (an OCI engine's). A pod's member joins its pod's
 * network, IPC and UTS namespaces instead of making its own; a container whose config names {@code namespace_paths}
 * joins those.
 */
public final class NamespacesIsolator implements Isolator {
    public static final Set<Namespace> DEFAULT =
            Set.copyOf(EnumSet.of(Namespace.PID, Namespace.MOUNT, Namespace.UTS, Namespace.IPC, Namespace.CGROUP));

    /** Container ids 0..size-1 are host ids hostId..hostId+size-1. */
    public record IdRange(long hostId, long size) {
        public IdRange {
            // (uid_t) -1 means "no change" to the kernel: the range must stay below it
            if (hostId < 0 || size <= 0 || hostId + size > 0xFFFF_FFFFL) {
                throw VesselException.invalid("user_namespace",
                        "need a non-empty range of host ids below 4294967295, got " + size + " from " + hostId);
            }
        }
    }

    /** What a pod's members share: its task's namespaces of these kinds (in the kernel's names, lower-cased). */
    static final List<Namespace> POD_SHARED = List.of(Namespace.NET, Namespace.IPC, Namespace.UTS);

    private final LaunchInfo launchInfo;

    public NamespacesIsolator() {
        this(DEFAULT, Optional.empty());
    }

    /**
     * @param namespaces  the namespaces to create; not NET (each container's config decides it) nor USER
     *                    (given by {@code userNamespace})
     * @param userNamespace when present, a user namespace whose root is this range of host ids
     */
    public NamespacesIsolator(Set<Namespace> namespaces, Optional<IdRange> userNamespace) {
        for (Namespace ns : namespaces) {
            switch (ns) {
                case MOUNT, PID, UTS, IPC, CGROUP -> { }
                case NET -> throw VesselException.invalid("namespaces",
                        "NET follows each container's networks: a private namespace unless it names host");
                case USER -> throw VesselException.invalid("namespaces",
                        "USER comes with its id range: give user_namespace instead");
                default -> throw VesselException.invalid("namespaces", "unknown namespace " + ns);
            }
        }
        Set<Namespace> sorted = EnumSet.noneOf(Namespace.class); // a stable order
        sorted.addAll(namespaces);
        LaunchInfo.Builder info = LaunchInfo.newBuilder().addAllNamespaces(sorted);
        userNamespace.ifPresent(range -> {
            IdMapping root = IdMapping.newBuilder().setContainerId(0)
                    .setHostId((int) range.hostId()).setSize((int) range.size()).build();
            info.addNamespaces(Namespace.USER).addUidMappings(root).addGidMappings(root);
        });
        this.launchInfo = info.build();
    }

    @Override
    public String name() {
        return "namespaces";
    }

    @Override
    public Set<Key<?>> requires() {
        return Set.of(ContainerKeys.POD_TASK);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        Long podTask = context.get(ContainerKeys.POD_TASK);
        if (podTask != null) {
            return memberOf(podTask);
        }
        ContainerConfig config = context.config();
        LaunchInfo.Builder info = joining(config.getNamespacePathsMap());
        if (NetworkNames.sharesHost(config)) {
            return info.build();
        }
        if (!config.getNetworkNamespacePath().isEmpty()) {
            return info.setNetworkNamespacePath(config.getNetworkNamespacePath()).build();
        }
        return info.addNamespaces(Namespace.NET).build();
    }

    /**
     * The node's namespaces less those the config joins ({@code namespace_paths}: an OCI engine's, such as a
     * Kubernetes pod's sandbox's IPC and UTS), which are joined instead.
     */
    private LaunchInfo.Builder joining(Map<String, String> paths) {
        if (paths.isEmpty()) {
            return launchInfo.toBuilder();
        }
        Map<Namespace, String> joins = new TreeMap<>();
        paths.forEach((type, path) -> {
            refuseTheHosts("namespace_paths[" + type + "]", type, path);
            joins.put(Namespace.valueOf(type.toUpperCase(Locale.ROOT)), path);
        });
        LaunchInfo.Builder info = launchInfo.toBuilder().clearNamespaces();
        launchInfo.getNamespacesList().stream().filter(ns -> !joins.containsKey(ns)).forEach(info::addNamespaces);
        joins.forEach((ns, path) -> info.addJoinNamespaces(JoinNamespace.newBuilder().setType(ns).setPath(path)));
        return info;
    }

    /**
     * A pod's member joins the network, IPC and UTS namespaces its pod's task holds (so its containers reach
     * each other on 127.0.0.1, share System V IPC and POSIX queues and one host name), and keeps its own others.
     */
    private LaunchInfo memberOf(long podTask) {
        LaunchInfo.Builder info = launchInfo.toBuilder().clearNamespaces();
        launchInfo.getNamespacesList().stream().filter(ns -> !POD_SHARED.contains(ns)).forEach(info::addNamespaces);
        for (Namespace ns : POD_SHARED) {
            info.addJoinNamespaces(JoinNamespace.newBuilder().setType(ns).setPath(Path.of("/proc",
                    Long.toString(podTask), "ns", ns.name().toLowerCase(Locale.ROOT)).toString()));
        }
        return info.build();
    }

    /**
     * A path that is the node's own namespace of its type would share the host's (what a container may not ask for
     * by listing none, nor a network one but by the network {@code host}): refused naming {@code field}, as is one
     * that is no namespace. The CNI isolator checks a network namespace path so too.
     */
    public static void refuseTheHosts(String field, String type, String path) {
        try {
            if (NamespaceFiles.isOwn(Path.of(path), type)) {
                throw VesselException.invalid(field, Quoted.of(path) + " is the host's " + type + " namespace: a"
                        + " container does not share it");
            }
        } catch (IOException e) {
            throw VesselException.invalid(field, Quoted.of(path) + " is no namespace to join: " + e.getMessage());
        }
    }

    /** A new network namespace starts with {@code lo} down: bring it up, so 127.0.0.1 works inside. */
    @Override
    public void isolate(ContainerContext context, long pid) throws IOException {
        // the host's, one its maker configured, or a pod's (its task's lo is up)
        if (NetworkNames.sharesHost(context.config()) || !context.config().getNetworkNamespacePath().isEmpty()
                || !context.config().getParentId().isEmpty()) {
            return;
        }
        try (RtNetlink netlink = RtNetlink.openIn(Path.of("/proc", Long.toString(pid), "ns", "net"))) {
            RtNetlink.Link lo = netlink.link("lo").orElseThrow(
                    () -> new IOException("the network namespace of pid " + pid + " has no lo"));
            netlink.setUp(lo.index());
        }
    }
}
