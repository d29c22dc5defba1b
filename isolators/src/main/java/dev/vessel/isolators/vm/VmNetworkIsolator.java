package dev.vessel.isolators.vm;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.GuestRoute;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.VmLaunchInfo;
import dev.vessel.core.model.VmNic;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.ShortNames;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.NetworkKeys;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.RtNetlink;
import dev.vessel.linux.TapDevices;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * {@code vm/network}: gives a VM task's guest one NIC per CNI interface of its container (or per interface of
 * the network namespace an engine made and wired for it, {@code network_namespace_path}: podman's and
 * containerd's networks), in the way Kata Containers' "tcfilter" model does.
 *
 * <ol>
 * <li>{@code prepare} (the CNI isolator has made the container's netns and {@code eth0, eth1, …} in
 * it): reads each interface's MAC, MTU, IPv4 addresses and routes there, and creates a persistent tap
 * per interface in the host's namespace, down, with no address and no master. The launcher gives the
 * guest a virtio NIC on that tap ({@code <interface type='ethernet'>}, {@code managed='no'}: libvirt
 * opens the existing tap by name, in its own namespace, which is the host's, and leaves it down)
 * with the interface's MAC; the guest agent configures the interface's addresses and routes on it
 * once the task is released, after the next step.</li>
 * <li>{@code isolate} (QEMU holds the tap open): moves each tap into the container's netns, where it
 * comes up beside its interface and an ingress qdisc on each redirects every frame to the other
 * ({@code tc … u32 match u8 0 0 action mirred egress redirect}). From then on only the container's
 * netns carries the guest's traffic; the host's never does. (A tap keeps working when it changes
 * namespace with QEMU's descriptor open.)</li>
 * </ol>
 *
 * <p>Why tc rather than a bridge in the netns: the guest's MAC is the interface's own (what the CNI
 * plugins and their peers know), and a bridge holds its ports' own MACs as permanent local entries
 * and keeps frames addressed to them instead of forwarding them (tried: a guest stand-in with eth0's
 * MAC behind such a bridge got no packet), so the guest would need another MAC and eth0 would have
 * to give up its address. With the redirect, the interface keeps its MAC and address as CNI left them (its
 * DEL and the status's IPs work as for a process container) and the netns's own stack never sees a
 * frame.
 *
 * <p>The taps are named from the container and this node's state dir and checkpointed in
 * {@link RuntimePaths#vmNetworkStateDir()} before they are created, outside the container's own
 * directory, so that recovery can still delete those of a container whose record is lost. A tap dies
 * with the netns it was moved to; {@code cleanup} deletes it wherever it is.
 */
public final class VmNetworkIsolator implements Isolator {
    private static final System.Logger LOG = System.getLogger(VmNetworkIsolator.class.getName());
    private static final ProtoCodec<VmNetworkCheckpoint> CODEC = ProtoCodec.of(1, VmNetworkCheckpoint.parser());
    /** Routes the kernel derives from an address by itself; the guest's kernel makes its own. */
    private static final int RTPROT_KERNEL = 2;

    private final RuntimePaths paths;
    private final String nodeStateDir;

    public VmNetworkIsolator(RuntimePaths paths) {
        this.paths = paths;
        this.nodeStateDir = paths.stateDir().toString();
    }

    @Override
    public String name() {
        return "vm/network";
    }

    @Override
    public boolean appliesTo(Isolation isolation) {
        return isolation == Isolation.VM;
    }

    @Override
    public Set<Key<?>> requires() {
        return Set.of(NetworkKeys.NETNS);
    }

    /**
     * The tap of the container's {@code index}-th interface: "vt", a hash of this node's state dir and
     * the container id, and the index, within the 15 characters of an interface name.
     */
    String tapName(String containerId, int index) {
        return "vt" + ShortNames.hash(nodeStateDir + "\0" + containerId, 10) + "-" + index;
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws IOException {
        Path netns = context.get(NetworkKeys.NETNS);
        List<String> names = interfaceNames(context.config(), netns);
        int count = names.size();
        if (count == 0) {
            return LaunchInfo.getDefaultInstance(); // no NIC: the guest has only its loopback
        }
        List<GuestInterface> interfaces = new ArrayList<>();
        try (RtNetlink container = RtNetlink.openIn(netns)) {
            for (String name : names) {
                interfaces.add(guestInterface(container, name));
            }
        }
        List<String> taps = new ArrayList<>();
        try (RtNetlink host = RtNetlink.open()) {
            for (int i = 0; i < count; i++) {
                String tap = tapName(context.containerId(), i);
                if (host.link(tap).isPresent()) { // before the checkpoint: never delete what is not ours
                    throw new VesselException(ErrorCode.ALREADY_EXISTS, tap, "a network interface named " + tap
                            + " exists already on this host; is container '" + context.containerId()
                            + "' running under another daemon with the same state directory?");
                }
                taps.add(tap);
            }
            save(context.containerId(), VmNetworkCheckpoint.newBuilder().setNetns(netns.toString()).addAllTaps(taps)
                    .addAllInterfaces(names).build());
            for (String tap : taps) {
                TapDevices.createPersistent(tap);
            }
        }
        VmLaunchInfo.Builder vm = VmLaunchInfo.newBuilder();
        for (int i = 0; i < count; i++) {
            vm.addNics(VmNic.newBuilder().setTap(taps.get(i)).setGuest(interfaces.get(i)));
        }
        return LaunchInfo.newBuilder().setVm(vm).build();
    }

    /**
     * The interfaces of the container's netns the guest gets, in order: the CNI isolator's {@code eth0, eth1, …}
     * for its networks; in a namespace an engine made, each of its interfaces but loopback, as the engine named
     * them (podman's and containerd's {@code eth0}). None: no NIC.
     */
    private static List<String> interfaceNames(ContainerConfig config, Path netns) throws IOException {
        int count = NetworkNames.cniAttachments(config).size();
        if (count > 0 || config.getNetworkNamespacePath().isEmpty()) {
            return cniNames(count);
        }
        try (RtNetlink engines = RtNetlink.openIn(netns)) {
            return engines.links().stream().filter(VmNetworkIsolator::ethernet).map(RtNetlink.Link::name).toList();
        }
    }

    /** The names the CNI isolator gives a container's first {@code count} interfaces, in order. */
    private static List<String> cniNames(int count) {
        return java.util.stream.IntStream.range(0, count).mapToObj(i -> "eth" + i).toList();
    }

    /**
     * An interface a NIC can stand in for: one with a MAC of its own (a veth, a macvlan), not loopback and not the
     * tunnel devices a new namespace gets while their modules are loaded (tunl0, gre0, sit0: no MAC, or 4 bytes).
     */
    static boolean ethernet(RtNetlink.Link link) {
        return !link.loopback() && link.mac().length() == 17 && !link.mac().equals("00:00:00:00:00:00");
    }

    /** What the guest configures for the interface {@code name} as CNI (or the engine) left it in the container's netns. */
    static GuestInterface guestInterface(RtNetlink netlink, String name) throws IOException {
        RtNetlink.Link link = netlink.link(name).orElseThrow(() -> new VesselException(ErrorCode.INTERNAL, "networks",
                "the container's network namespace has no interface " + name + " to connect the guest to"));
        GuestInterface.Builder guest = GuestInterface.newBuilder().setMac(link.mac()).setMtu(link.mtu());
        for (RtNetlink.Address address : netlink.ipv4Addresses()) {
            if (address.index() == link.index()) {
                guest.addAddresses(address.toString());
            }
        }
        for (RtNetlink.Route route : netlink.ipv4Routes()) {
            if (route.index() == link.index() && route.protocol() != RTPROT_KERNEL) {
                GuestRoute.Builder r = GuestRoute.newBuilder()
                        .setDestination(route.destination().getHostAddress() + "/" + route.prefixLength());
                if (route.gateway() != null) {
                    r.setGateway(route.gateway().getHostAddress());
                }
                guest.addRoutes(r);
            }
        }
        return guest.build();
    }

    /** QEMU has opened the taps: each goes into the container's netns and is joined to its interface. */
    @Override
    public void isolate(ContainerContext context, long pid) throws IOException {
        Optional<VmNetworkCheckpoint> saved = load(context.containerId());
        if (saved.isEmpty()) {
            return;
        }
        Path netns = Path.of(saved.get().getNetns());
        List<String> taps = saved.get().getTapsList();
        List<String> names = saved.get().getInterfacesCount() > 0 ? saved.get().getInterfacesList()
                : cniNames(taps.size());
        try (RtNetlink host = RtNetlink.open()) {
            for (String tap : taps) {
                host.moveToNamespace(host.link(tap).orElseThrow(() -> new VesselException(ErrorCode.INTERNAL, tap,
                        "the tap " + tap + " of the guest's NIC is gone")).index(), netns);
            }
        }
        try (RtNetlink container = RtNetlink.openIn(netns)) {
            for (int i = 0; i < taps.size(); i++) {
                RtNetlink.Link tap = container.link(taps.get(i)).orElseThrow();
                RtNetlink.Link eth = container.link(names.get(i)).orElseThrow();
                container.setMtu(tap.index(), eth.mtu());
                container.setUp(tap.index());
                container.addIngressQdisc(eth.index());
                container.addIngressQdisc(tap.index());
                container.redirectIngress(eth.index(), tap.index());
                container.redirectIngress(tap.index(), eth.index());
            }
        }
    }

    /**
     * What the guest's NICs moved, from their taps in the container's netns: a tap sends what the guest receives
     * and receives what the guest sends.
     */
    @Override
    public ResourceStatistics usage(ContainerContext context) throws IOException {
        Optional<VmNetworkCheckpoint> saved = load(context.containerId());
        if (saved.isEmpty() || saved.get().getTapsCount() == 0) {
            return ResourceStatistics.getDefaultInstance();
        }
        ResourceStatistics.Builder usage = ResourceStatistics.newBuilder();
        try (RtNetlink container = RtNetlink.openIn(Path.of(saved.get().getNetns()))) {
            for (RtNetlink.Link link : container.links()) {
                if (saved.get().getTapsList().contains(link.name())) {
                    usage.setNetRxBytes(usage.getNetRxBytes() + link.txBytes())
                            .setNetTxBytes(usage.getNetTxBytes() + link.rxBytes());
                }
            }
        }
        return usage.build();
    }

    @Override
    public void cleanup(ContainerContext context) throws IOException {
        release(context.containerId());
    }

    /** Deletes the taps of containers that are not listed (their record was lost in a crash). */
    @Override
    public void recover(List<ContainerContext> containers) throws IOException {
        Set<String> known = new HashSet<>();
        containers.forEach(c -> known.add(c.containerId()));
        List<String> orphans = paths.vmNetworkContainers();
        orphans.removeAll(known);
        for (String id : orphans) {
            LOG.log(Level.INFO, "removing the taps of unknown container ''{0}''", id);
            release(id);
        }
    }

    /**
     * Deletes each tap in the host's namespace or in the container's, wherever it is (a tap that is
     * nowhere is fine), then the checkpoint. Idempotent.
     */
    private void release(String containerId) throws IOException {
        Optional<VmNetworkCheckpoint> saved = load(containerId);
        if (saved.isEmpty()) {
            return;
        }
        List<String> taps = saved.get().getTapsList();
        try (RtNetlink host = RtNetlink.open()) {
            deleteLinks(host, taps);
        }
        Path netns = Path.of(saved.get().getNetns());
        if (Files.exists(netns)) {
            try (RtNetlink container = RtNetlink.openIn(netns)) {
                deleteLinks(container, taps);
                unredirect(container, saved.get().getInterfacesList());
            } catch (IOException e) {
                // a netns file left unmounted holds no namespace, hence no tap
                LOG.log(Level.DEBUG, "no namespace at {0}: {1}", netns, e.getMessage());
            }
        }
        checkpoint(containerId).delete();
    }

    /**
     * An engine's namespace outlives the container (podman's until its network is torn down): its interfaces get
     * their ingress back, as the engine made them. (A namespace Vessel made goes with the container.)
     */
    private static void unredirect(RtNetlink netlink, List<String> interfaces) throws IOException {
        for (String name : interfaces) {
            Optional<RtNetlink.Link> link = netlink.link(name);
            if (link.isPresent()) {
                try {
                    netlink.deleteIngressQdisc(link.get().index());
                } catch (ErrnoException e) {
                    LOG.log(Level.DEBUG, "no ingress qdisc on {0}: {1}", name, e.getMessage()); // not made yet
                }
            }
        }
    }

    private static void deleteLinks(RtNetlink netlink, List<String> names) throws IOException {
        for (String name : names) {
            Optional<RtNetlink.Link> link = netlink.link(name);
            if (link.isPresent()) {
                netlink.deleteLink(link.get().index());
            }
        }
    }

    private void save(String containerId, VmNetworkCheckpoint state) throws IOException {
        Files.createDirectories(paths.vmNetworkStateDir());
        checkpoint(containerId).save(CODEC, state);
    }

    private Optional<VmNetworkCheckpoint> load(String containerId) {
        return checkpoint(containerId).load(CODEC);
    }

    private Checkpoint checkpoint(String containerId) {
        return Checkpoint.at(paths.vmNetworkCheckpoint(containerId));
    }
}
