package dev.vessel.isolators.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.fault.FaultPoints;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.PortMapping;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.NetworkKeys;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.isolators.namespaces.NamespacesIsolator;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code network/cni}: attaches containers to CNI networks, as Mesos's network/cni isolator does.
 *
 * <p>A container on CNI networks gets a network namespace of its own (a persistent netns file,
 * see {@link NetworkNamespaces}) that its task joins through {@code LaunchInfo.network_namespace_path};
 * {@code lo} is brought up by the CNI {@code loopback} plugin, then each network is ADDed on
 * {@code eth0}, {@code eth1}, … The ADDs run in {@code prepare}, not {@code isolate}: the namespace
 * exists before the task, and isolators that require {@link NetworkKeys#NETNS} (a VM's tap) find
 * the interfaces configured. The reserved names {@code host} and {@code none} are no CNI networks
 * and are ignored here: a container naming only them (or no network) gets no LaunchInfo from this
 * isolator, and the {@code namespaces} isolator decides its network namespace.
 *
 * <p>It runs for VM tasks too: there the namespace holds the container's interfaces on the host,
 * and the VM launcher's network isolator connects a NIC of the guest to each of them (the guest
 * itself takes their addresses; the task runs in the guest and never joins this namespace).
 *
 * <p>Every process container with a rootfs gets its resolver files from here, as Mesos's gives them
 * ({@link NetworkFiles}: {@code /etc/resolv.conf}, {@code /etc/hosts} with its addresses, {@code /etc/hostname}),
 * on a CNI network, on none or on the host's.
 *
 * <p>Per container the isolator keeps a netns file and a checkpoint of what each DEL needs
 * ({@link CniPaths}) (configuration, interface, port mappings, result). They live in the isolator's own
 * directory rather than the container's checkpoint slot so that they outlive a container whose record
 * is gone: recovery can still DEL such an orphan, releasing its IP addresses and port mappings.
 */
public final class CniIsolator implements Isolator {
    private static final System.Logger LOG = System.getLogger(CniIsolator.class.getName());

    private final NetworkConfigs configs;
    private final CniRuntime runtime;
    private final CniPaths files;
    private final CniStateCodec codec;
    private final NetworkConfig loopback;
    private final NetworkFiles networkFiles;
    private final ObjectMapper json = new ObjectMapper();

    /**
     * @param configDir  the CNI network configurations ({@code .conflist}, {@code .conf})
     * @param pluginDirs where plugin binaries are looked up by type, in order (Debian: /usr/lib/cni)
     * @param stateDir   the isolator's own directory ({@code RuntimePaths.cniStateDir()}; its layout: {@link CniPaths})
     * @param runner     how plugins are started ({@link PluginRunner#DIRECT} on a host or in a guest)
     */
    public CniIsolator(Path configDir, List<Path> pluginDirs, Path stateDir, PluginRunner runner) {
        this(configDir, pluginDirs, stateDir, runner,
                new NetworkFiles(Path.of("/etc/resolv.conf"), Path.of("/etc/hosts")));
    }

    CniIsolator(Path configDir, List<Path> pluginDirs, Path stateDir, PluginRunner runner, NetworkFiles networkFiles) {
        if (pluginDirs.isEmpty()) {
            throw VesselException.invalid("network/cni.plugin_dirs", "at least one plugin directory is needed");
        }
        this.configs = new NetworkConfigs(configDir, json);
        this.runtime = new CniRuntime(pluginDirs, runner, json);
        this.files = new CniPaths(stateDir);
        this.codec = new CniStateCodec(json);
        ObjectNode lo = json.createObjectNode().put("type", "loopback");
        this.loopback = new NetworkConfig("vessel-loopback", "1.0.0", List.of(lo));
        this.networkFiles = networkFiles;
    }

    @Override
    public String name() {
        return "network/cni";
    }

    @Override
    public boolean appliesTo(Isolation isolation) {
        return isolation == Isolation.PROCESS || isolation == Isolation.VM;
    }

    @Override
    public Set<Key<?>> provides() {
        return Set.of(NetworkKeys.NETNS);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws IOException {
        String id = context.containerId();
        List<NetworkAttachment> attachments = NetworkNames.cniAttachments(context.config());
        if (attachments.isEmpty()) {
            // the namespace the container's maker wired (an engine's; never the host's), else the host's
            String made = context.config().getNetworkNamespacePath();
            if (!made.isEmpty()) {
                NamespacesIsolator.refuseTheHosts("network_namespace_path", "net", made);
            }
            context.put(NetworkKeys.NETNS, made.isEmpty()
                    ? Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "ns", "net") : Path.of(made));
            return withNetworkFiles(context, LaunchInfo.newBuilder(), List.of());
        }
        // Every name and plugin is checked before anything is created.
        List<NetworkConfig> networks = attachments.stream().map(a -> configs.find(a.getNetwork())).toList();
        runtime.checkInstalled(loopback);
        networks.forEach(runtime::checkInstalled);

        Path dir = files.containerDir(id);
        if (Files.exists(dir)) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, dir.toString(),
                    "network state for container '" + id + "' exists already");
        }
        Files.createDirectories(dir);
        Path netns = files.netns(id);
        NetworkNamespaces.create(netns);
        runtime.add(loopback, json.createArrayNode(), new CniRuntime.Target(id, netns, "lo"));

        CniState state = new CniState(List.of());
        for (int i = 0; i < attachments.size(); i++) {
            CniAttachment pending = new CniAttachment("eth" + i, networks.get(i), portMappings(attachments.get(i)), null);
            state = state.with(pending);
            checkpoint(id).save(codec, state); // before the ADD: a failed or interrupted ADD is DELeted too
            JsonNode result = runtime.add(pending.network(), pending.portMappings(), target(id, netns, pending));
            state = state.with(pending.withResult(result));
            checkpoint(id).save(codec, state);
        }
        FaultPoints.reach(FaultPoints.AFTER_CNI_ADD, id);
        context.put(NetworkKeys.NETNS, netns);
        return withNetworkFiles(context, LaunchInfo.newBuilder().setNetworkNamespacePath(netns.toString()),
                state.ipAddresses());
    }

    /**
     * The container's resolver files ({@link NetworkFiles}), in its directory here: a process container's, and a
     * standalone VM task's on CNI networks (its binds become shares its guest binds the same way). A VM task on no
     * network has no name server to reach; a VM pod's member gets no more shares; a full VM has cloud-init's.
     */
    private LaunchInfo withNetworkFiles(PrepareContext context, LaunchInfo.Builder info, List<String> addresses)
            throws IOException {
        ContainerConfig config = context.config();
        if (NetworkNames.getsResolverFiles(config) && NetworkFiles.applyTo(config)) {
            info.addAllMounts(networkFiles.write(files.containerDir(context.containerId()), context.containerId(),
                    context.config(), addresses));
        }
        return info.build();
    }

    /** The port mappings in the form of the CNI {@code portMappings} capability. */
    private ArrayNode portMappings(NetworkAttachment attachment) {
        ArrayNode mappings = json.createArrayNode();
        for (PortMapping p : attachment.getPortsList()) {
            ObjectNode m = mappings.addObject().put("hostPort", p.getHostPort())
                    .put("containerPort", p.getContainerPort())
                    .put("protocol", p.getProtocol().isEmpty() ? "tcp" : p.getProtocol());
            if (!p.getHostIp().isEmpty()) {
                m.put("hostIP", p.getHostIp());
            }
        }
        return mappings;
    }

    @Override
    public ContainerStatus status(ContainerContext context) {
        List<String> ips = checkpoint(context.containerId()).load(codec)
                .map(CniState::ipAddresses).orElse(List.of());
        return ContainerStatus.newBuilder().addAllIpAddresses(ips).build();
    }

    @Override
    public void cleanup(ContainerContext context) throws IOException {
        release(context.containerId());
    }

    /** DELs and removes the networks of containers that are not listed (a crash lost their record). */
    @Override
    public void recover(List<ContainerContext> containers) throws IOException {
        Set<String> known = new HashSet<>();
        containers.forEach(c -> known.add(c.containerId()));
        List<String> orphans = files.containerIds();
        orphans.removeAll(known);
        for (String id : orphans) {
            LOG.log(Level.INFO, "removing the networks of unknown container ''{0}''", id);
            release(id);
        }
    }

    /**
     * DEL of every attachment (last first), then the namespace and the state go. Idempotent. A DEL
     * that fails for a finished ADD keeps everything, so a later cleanup can retry it; one for an ADD
     * that never finished is only logged, as there may be nothing to release.
     */
    private void release(String id) throws IOException {
        Path dir = files.containerDir(id);
        if (!Files.isDirectory(dir)) {
            return;
        }
        Path netns = files.netns(id);
        if (Files.exists(netns) && !NetworkNamespaces.isMounted(netns)) {
            // a namespace already gone: plugins treat a missing path as such, but not a plain file
            Files.delete(netns);
        }
        List<CniAttachment> attachments = checkpoint(id).load(codec).map(CniState::attachments).orElse(List.of());
        List<VesselException> failures = new ArrayList<>();
        for (CniAttachment a : attachments.reversed()) {
            try {
                runtime.del(a.network(), a.portMappings(), a.result(), target(id, netns, a));
            } catch (VesselException e) {
                if (a.result() != null) {
                    failures.add(e);
                } else {
                    LOG.log(Level.WARNING, "DEL after an unfinished ADD of container ''{0}'': {1}", id, e.getMessage());
                }
            }
        }
        if (!failures.isEmpty()) {
            VesselException first = failures.getFirst();
            failures.stream().skip(1).forEach(first::addSuppressed);
            throw first;
        }
        NetworkNamespaces.remove(netns);
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static CniRuntime.Target target(String id, Path netns, CniAttachment attachment) {
        return new CniRuntime.Target(id, netns, attachment.ifName());
    }

    private Checkpoint checkpoint(String containerId) {
        return Checkpoint.at(files.attachments(containerId));
    }
}
