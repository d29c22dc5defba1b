package dev.vessel.isolators.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.GuestRoute;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.NetworkKeys;
import dev.vessel.isolators.testing.DirectPrepareContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * vm/network without a VM: a namespace the test makes stands in for the container's (a veth end
 * named eth0 with an address and a default route, as CNI would leave it). The taps the isolator
 * makes sit in the host's namespace only down, with no address and no master, until isolate moves
 * them; {@code ip} and {@code tc} check every step.
 */
class VmNetworkIsolatorTest {
    private static final String MAC = "02:00:00:00:0c:01";

    @TempDir
    Path dir;
    private final String ns = "net-vmnetiso-" + UUID.randomUUID().toString().substring(0, 8);
    private RuntimePaths paths;
    private VmNetworkIsolator isolator;
    private final List<String> ids = new java.util.ArrayList<>();

    @BeforeEach
    void containerNamespace() throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("vm/network tests must run as root (network namespaces, taps)");
        }
        sh("ip netns add " + ns
                + " && ip -n " + ns + " link add eth0 address " + MAC + " type veth peer name outer0"
                + " && ip -n " + ns + " link set outer0 up && ip -n " + ns + " link set eth0 up"
                + " && ip -n " + ns + " addr add 10.90.0.2/24 dev eth0"
                + " && ip -n " + ns + " route add default via 10.90.0.1 dev eth0");
        paths = TestContainers.paths(dir);
        isolator = new VmNetworkIsolator(paths);
    }

    @AfterEach
    void removeAll() throws Exception {
        for (String id : ids) {
            isolator.cleanup(context(config(id, 1)));
        }
        sh("ip netns del " + ns);
    }

    @Test
    void appliesToVmsOnlyAndNeedsTheNetns() {
        assertTrue(isolator.appliesTo(Isolation.VM));
        assertFalse(isolator.appliesTo(Isolation.PROCESS));
        assertEquals(java.util.Set.of(NetworkKeys.NETNS), isolator.requires());
    }

    @Test
    void aTaskWithoutNetworksGetsNoNicAndNothingIsMade() throws Exception {
        assertEquals(LaunchInfo.getDefaultInstance(), isolator.prepare(context(config("net-none", 0))));
        assertFalse(Files.exists(paths.vmNetworkStateDir().resolve("net-none.ckpt")));
    }

    @Test
    void theNicMirrorsTheInterfaceAndItsTapIsJoinedToItInTheContainersNamespace() throws Exception {
        DirectPrepareContext context = context(config(track("net-one"), 1));
        LaunchInfo info = isolator.prepare(context);

        String tap = isolator.tapName("net-one", 0);
        assertEquals(1, info.getVm().getNicsCount());
        assertEquals(tap, info.getVm().getNics(0).getTap());
        assertEquals(GuestInterface.newBuilder().setMac(MAC).setMtu(1500).addAddresses("10.90.0.2/24")
                .addRoutes(GuestRoute.newBuilder().setDestination("0.0.0.0/0").setGateway("10.90.0.1")).build(),
                info.getVm().getNics(0).getGuest(), "the kernel's own subnet route is left to the guest's kernel");
        String onHost = sh("ip -o link show " + tap);
        assertFalse(onHost.contains(",UP") || onHost.contains("<UP"), onHost);
        assertFalse(onHost.contains("master"), onHost);
        assertEquals("", sh("ip -o addr show dev " + tap).strip());

        isolator.isolate(context, 1);
        assertFalse(hostHas(tap), "the tap is still in the host's namespace");
        String inside = sh("ip -n " + ns + " -o link show " + tap);
        assertTrue(inside.contains(",UP"), inside);
        assertTrue(sh("tc -n " + ns + " filter show dev eth0 ingress").contains("Egress Redirect to device " + tap));
        assertTrue(sh("tc -n " + ns + " filter show dev " + tap + " ingress").contains("Egress Redirect to device eth0"));

        isolator.cleanup(context);
        assertFalse(sh("ip -n " + ns + " -o link show").contains(tap), "the tap is left in the container's namespace");
        assertFalse(Files.exists(paths.vmNetworkStateDir().resolve("net-one.ckpt")));
        isolator.cleanup(context); // idempotent
    }

    @Test
    void recoveryDeletesTheTapsOfContainersItIsNotToldAbout() throws Exception {
        isolator.prepare(context(config(track("net-lost"), 1)));
        isolator.prepare(context(config(track("net-kept"), 1)));
        assertTrue(hostHas(isolator.tapName("net-lost", 0)));

        VmNetworkIsolator restarted = new VmNetworkIsolator(paths);
        restarted.recover(List.of(context(config("net-kept", 1))));
        assertFalse(hostHas(restarted.tapName("net-lost", 0)), "the orphan's tap is left");
        assertFalse(Files.exists(paths.vmNetworkStateDir().resolve("net-lost.ckpt")));
        assertTrue(hostHas(restarted.tapName("net-kept", 0)), "a live container's tap was deleted");
    }

    @Test
    void aTapNameInUseIsRefusedAndLeftAlone() throws Exception {
        String tap = isolator.tapName(track("net-taken"), 0);
        sh("ip tuntap add dev " + tap + " mode tap");
        try {
            VesselException e = assertThrows(VesselException.class,
                    () -> isolator.prepare(context(config("net-taken", 1))));
            assertEquals(ErrorCode.ALREADY_EXISTS, e.code());
            isolator.cleanup(context(config("net-taken", 1)));
            assertTrue(hostHas(tap), "a tap the isolator did not make was deleted");
        } finally {
            sh("ip link del " + tap);
        }
    }

    /**
     * A namespace an engine made and wired (podman's, containerd's): a NIC for each of its interfaces that carry
     * Ethernet, as the engine named them; at the end the interface gets its ingress back, since the namespace
     * is the engine's and outlives the container.
     */
    @Test
    void anEnginesNamespaceGivesANicPerInterfaceAndGetsItsIngressBack() throws Exception {
        // as an engine leaves it: its end of the veth alone in the namespace, the peer elsewhere
        String peer = ns + "-peer";
        sh("ip netns add " + peer + " && ip -n " + ns + " link set outer0 netns " + peer
                + " && ip -n " + ns + " link set eth0 name podman0");
        try {
            engineNamespace();
        } finally {
            sh("ip netns del " + peer);
        }
    }

    private void engineNamespace() throws Exception {
        ContainerConfig config = TestContainers.vmConfig(track("net-engine"))
                .setNetworkNamespacePath("/run/netns/" + ns).build();
        DirectPrepareContext context = context(config);
        LaunchInfo info = isolator.prepare(context);
        assertEquals(1, info.getVm().getNicsCount(), info.toString());
        assertEquals(MAC, info.getVm().getNics(0).getGuest().getMac());
        isolator.isolate(context, 1);
        String tap = isolator.tapName("net-engine", 0);
        assertTrue(sh("tc -n " + ns + " filter show dev podman0 ingress").contains("Egress Redirect to device " + tap));

        isolator.cleanup(context);
        assertFalse(sh("tc -n " + ns + " qdisc show dev podman0").contains("ingress"), "the engine's interface as it was");
        assertFalse(sh("ip -n " + ns + " -o link show").contains(tap));
    }

    @Test
    void onlyInterfacesWithAMacOfTheirOwnStandForANic() {
        assertTrue(VmNetworkIsolator.ethernet(link("eth0", MAC, false)));
        assertFalse(VmNetworkIsolator.ethernet(link("lo", "00:00:00:00:00:00", true)));
        assertFalse(VmNetworkIsolator.ethernet(link("tunl0", "00:00:00:00", false)), "an ipip tunnel's address");
        assertFalse(VmNetworkIsolator.ethernet(link("sit0", "", false)));
    }

    private static dev.vessel.linux.RtNetlink.Link link(String name, String mac, boolean loopback) {
        return new dev.vessel.linux.RtNetlink.Link(7, name, mac, 1500, true, loopback, 0, 0);
    }

    @Test
    void aMissingInterfaceIsNamed() throws Exception {
        VesselException e = assertThrows(VesselException.class,
                () -> isolator.prepare(context(config(track("net-two"), 2))));
        assertTrue(e.getMessage().contains("no interface eth1"), e.getMessage());
        assertFalse(hostHas(isolator.tapName("net-two", 0)), "a tap was made before the failure");
    }

    private String track(String id) {
        ids.add(id);
        return id;
    }

    private static ContainerConfig config(String id, int networks) {
        ContainerConfig.Builder config = TestContainers.vmConfig(id);
        for (int i = 0; i < networks; i++) {
            config.addNetworks(NetworkAttachment.newBuilder().setNetwork("net" + i));
        }
        return config.build();
    }

    private static boolean hostHas(String link) throws Exception {
        return new ProcessBuilder("ip", "link", "show", link).start().waitFor() == 0;
    }

    private static String sh(String command) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(command + " failed: " + out);
        }
        return out;
    }

    /** A container whose netns is the test's namespace. */
    private DirectPrepareContext context(ContainerConfig config) {
        Path containerDir = paths.containerDir(List.of(config.getId()));
        return new DirectPrepareContext(config, containerDir, paths.isolatorCheckpoint(containerDir, "vm-network"))
                .with(NetworkKeys.NETNS, Path.of("/run/netns", ns));
    }
}
