package dev.vessel.isolators.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.core.model.PortMapping;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.isolators.linux.LinuxCapabilitiesIsolator;
import dev.vessel.isolators.namespaces.NamespacesIsolator;
import dev.vessel.isolators.testing.DirectPrepareContext;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.launcher.process.ProcessLauncher;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CNI isolator with real process containers and Debian's CNI plugins. Every plugin runs inside a
 * network namespace the test creates ({@code ip netns exec}), so the bridge, the host ends of the
 * veths and the portmap rules live there and the host's own network is never touched.
 */
class CniIsolatorTest {
    @TempDir
    static Path tmp;

    static final String HOST_NS = "vessel-cni-" + UUID.randomUUID().toString().substring(0, 8);
    static final Path PLUGINS = Path.of("/usr/lib/cni");
    static final String SUBNET_PREFIX = "10.88.7.";
    static final String GATEWAY = "10.88.7.1";
    static RuntimePaths paths;
    static Path rootfs;
    static Path configDir;
    static Path stateDir;
    static Path ipamDir;
    static boolean hostNsCreated;
    static UnifiedContainerizer containerizer;

    @BeforeAll
    static void startNode() throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("CNI tests must run as root (network namespaces, mounts)");
        }
        if (!Files.isExecutable(PLUGINS.resolve("bridge"))) {
            throw new IllegalStateException(PLUGINS.resolve("bridge") + " is missing: apt-get install containernetworking-plugins");
        }
        if (run("sh", "-c", "command -v iptables").exit() != 0) {
            throw new IllegalStateException("iptables is missing (the portmap plugin needs it): apt-get install iptables");
        }
        check("ip", "netns", "add", HOST_NS);
        hostNsCreated = true;
        check("ip", "-n", HOST_NS, "link", "set", "lo", "up");

        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        configDir = Files.createDirectories(tmp.resolve("net.d"));
        stateDir = tmp.resolve("run/cni");
        ipamDir = tmp.resolve("ipam");
        Files.writeString(configDir.resolve("10-testnet.conflist"), """
                {"cniVersion": "1.0.0", "name": "testnet", "plugins": [
                  {"type": "bridge", "bridge": "vcni0", "isGateway": true, "ipMasq": false,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.7.0/24"}]], "dataDir": "%s"}},
                  {"type": "portmap", "capabilities": {"portMappings": true}}]}
                """.formatted(ipamDir));
        Files.writeString(configDir.resolve("20-badsubnet.conflist"), """
                {"cniVersion": "1.0.0", "name": "badsubnet", "plugins": [
                  {"type": "bridge", "bridge": "vcnibad", "isGateway": true,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.999.0/24"}]], "dataDir": "%s"}}]}
                """.formatted(ipamDir));
        Files.writeString(configDir.resolve("30-unknown.conf"), """
                {"cniVersion": "1.0.0", "name": "unknownplugin", "type": "no-such-plugin"}
                """);
        containerizer = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(ProcessLauncher.withBundledHelper(paths))
                .isolator(isolator())
                .isolator(new LinuxCapabilitiesIsolator()) // nc -l -p 80 needs CAP_NET_BIND_SERVICE
                .isolator(new NamespacesIsolator()) // as on a node: it creates NET unless a network is joined
                .build();
        containerizer.recover();
    }

    /** A fresh isolator as the daemon would make it, its plugins run inside the test's namespace. */
    static CniIsolator isolator() {
        return new CniIsolator(configDir, List.of(tmp.resolve("no-plugins-here"), PLUGINS), stateDir,
                plugin -> List.of("ip", "netns", "exec", HOST_NS, plugin.toString()));
    }

    @AfterAll
    static void stopNode() throws Exception {
        try {
            if (containerizer != null) {
                containerizer.list().forEach(s -> containerizer.destroy(s.getId()));
            }
        } finally {
            if (stateDir != null) {
                Mounts.unmountTree(stateDir); // only if a test failed half way
            }
            if (hostNsCreated) {
                check("ip", "netns", "del", HOST_NS);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void aContainerGetsAnAddressOfTheSubnetOnEth0AndDestroyLeavesNothing() throws Exception {
        launch("addr", "ip addr show eth0; exec sleep 1000", attachment());
        List<String> ips = containerizer.status("addr").getIpAddressesList();
        assertEquals(1, ips.size(), ips.toString());
        String ip = ips.getFirst();
        assertTrue(ip.startsWith(SUBNET_PREFIX), ip);
        assertTrue(awaitStdout("addr", "inet " + ip + "/24").contains("eth0"));
        assertTrue(Files.exists(ipamDir.resolve("testnet").resolve(ip)), "host-local allocated " + ip);
        assertEquals(1, veths().size(), veths().toString());

        assertEquals(TerminationReason.KILLED, containerizer.destroy("addr").getReason());
        assertNothingLeftOf("addr", ip);
    }

    @Test
    void twoContainersOnOneNetworkReachEachOther() throws Exception {
        launch("server", "exec sleep 1000", attachment());
        String serverIp = containerizer.status("server").getIpAddresses(0);
        // ping's raw socket needs CAP_NET_RAW, no longer in the default set
        containerizer.launch(config("client", "ping -c 1 -W 2 " + serverIp, attachment()).toBuilder()
                .setCapabilities(Capabilities.newBuilder().addAdd("CAP_NET_RAW")).build());
        Termination t = containerizer.wait("client").get(30, TimeUnit.SECONDS);
        assertEquals(0, t.getExitCode(), t + ": " + stdout("client"));
        assertTrue(stdout("client").contains("1 packets received"), stdout("client"));
        containerizer.destroy("server");
        assertTrue(veths().isEmpty(), veths().toString());
    }

    @Test
    void aMappedPortReachesTheContainerFromTheHostSide() throws Exception {
        NetworkAttachment web = attachment().toBuilder()
                .addPorts(PortMapping.newBuilder().setHostPort(8080).setContainerPort(80)).build();
        launch("web", "echo hello-from-web | nc -l -p 80", web);
        // nc may not listen yet: a refused connection (RST through the DNAT) is retried
        Result reply = run("ip", "netns", "exec", HOST_NS, "sh", "-c",
                "for i in $(seq 50); do busybox nc -w 2 " + GATEWAY + " 8080 </dev/null && exit 0; sleep 0.2; done; exit 1");
        assertEquals(0, reply.exit(), reply.output());
        assertTrue(reply.output().contains("hello-from-web"), reply.output());
        assertTrue(run("ip", "netns", "exec", HOST_NS, "iptables-save", "-t", "nat").output().contains("8080"));
        containerizer.destroy("web");
        assertFalse(run("ip", "netns", "exec", HOST_NS, "iptables-save", "-t", "nat").output().contains("8080"),
                "portmap's DEL removed the DNAT rule");
    }

    @Test
    void aBadPluginConfigurationFailsNamingNetworkAndPluginAndLeavesNothing() throws Exception {
        VesselException unknown = assertThrows(VesselException.class,
                () -> launch("unknown", "true", NetworkAttachment.newBuilder().setNetwork("unknownplugin").build()));
        assertTrue(unknown.getMessage().contains("network 'unknownplugin'")
                && unknown.getMessage().contains("'no-such-plugin' is not installed"), unknown.getMessage());
        assertFalse(Files.exists(stateDir.resolve("unknown")));

        VesselException subnet = assertThrows(VesselException.class,
                () -> launch("subnet", "true", NetworkAttachment.newBuilder().setNetwork("badsubnet").build()));
        assertTrue(subnet.getMessage().contains("network 'badsubnet'")
                && subnet.getMessage().contains("CNI plugin 'bridge' failed ADD: error"), subnet.getMessage());
        assertTrue(subnet.getMessage().contains("10.88.999.0/24"), subnet.getMessage());
        assertFalse(Files.exists(stateDir.resolve("subnet")));
        assertTrue(veths().isEmpty(), veths().toString());
        assertThrows(VesselException.class, () -> containerizer.status("subnet"));

        VesselException missing = assertThrows(VesselException.class,
                () -> launch("missing", "true", NetworkAttachment.newBuilder().setNetwork("nonet").build()));
        assertTrue(missing.getMessage().contains("network 'nonet'"), missing.getMessage());
    }

    @Test
    void recoveryDeletesTheNetworksOfAContainerNobodyKnows() throws Exception {
        // a daemon prepared a container's network and died before the container was recorded
        CniIsolator crashed = isolator();
        ContainerConfig config = config("ghost", "true", attachment());
        crashed.prepare(new DirectPrepareContext(config, tmp.resolve("ghost-dir"), tmp.resolve("ghost-dir/network-cni")));
        Path netns = stateDir.resolve("ghost/netns");
        assertTrue(Mounts.isMountPoint(netns));
        List<String> allocated = allocations();
        assertEquals(1, allocated.size(), allocated.toString());
        assertEquals(1, veths().size());

        CniIsolator restarted = isolator();
        restarted.recover(List.of());
        assertFalse(Files.exists(stateDir.resolve("ghost")));
        assertNothingLeftOf("ghost", allocated.getFirst());
        // cleanup of a container the isolator never prepared is a no-op
        restarted.cleanup(new DirectPrepareContext(config("never", "true", attachment()), tmp.resolve("never"),
                tmp.resolve("never/network-cni")));
    }

    @Test
    void theNetworkHostIsNoCniNetworkAndSharesTheDaemonsNetwork() throws Exception {
        containerizer.launch(config("hostnet", "cat /proc/net/dev", reserved(NetworkNames.HOST)));
        assertEquals(0, containerizer.wait("hostnet").get(30, TimeUnit.SECONDS).getExitCode());
        String hostDevices = Files.readString(Path.of("/proc/net/dev"));
        String firstHostDevice = hostDevices.lines().skip(2).map(l -> l.strip().split(":")[0]).filter(d -> !d.equals("lo"))
                .findFirst().orElse("lo");
        assertTrue(stdout("hostnet").contains(firstHostDevice + ":"), stdout("hostnet"));
        assertFalse(Files.exists(stateDir.resolve("hostnet")));
    }

    @Test
    void theNetworkNoneIsNoCniNetworkAndLeavesOnlyLoopback() throws Exception {
        containerizer.launch(config("nonet", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
                reserved(NetworkNames.NONE)));
        assertEquals(0, containerizer.wait("nonet").get(30, TimeUnit.SECONDS).getExitCode());
        assertEquals("lo\n", stdout("nonet"));
        assertFalse(Files.exists(stateDir.resolve("nonet")));
    }

    // ---------------------------------------------------------------------------------------------

    static NetworkAttachment reserved(String name) {
        return NetworkAttachment.newBuilder().setNetwork(name).build();
    }

    static NetworkAttachment attachment() {
        return NetworkAttachment.newBuilder().setNetwork("testnet").build();
    }

    static ContainerConfig config(String id, String script, NetworkAttachment... networks) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS)
                .addCommand("/bin/sh").addArgs("-c").addArgs(script)
                .setHostRootfs(rootfs.toString()).addAllNetworks(List.of(networks)).build();
    }

    static void launch(String id, String script, NetworkAttachment network) {
        containerizer.launch(config(id, script, network));
    }

    static String stdout(String id) throws IOException {
        return Files.readString(paths.stdoutLog(paths.containerDir(List.of(id))));
    }

    static String awaitStdout(String id, String expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!stdout(id).contains(expected)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("'" + expected + "' not in the output of " + id + ": " + stdout(id));
            }
            Thread.sleep(50);
        }
        return stdout(id);
    }

    /** The host ends of container interfaces, in the test's "host" namespace. */
    static List<String> veths() throws Exception {
        return check("ip", "-n", HOST_NS, "-o", "link", "show", "type", "veth").lines().toList();
    }

    static List<String> allocations() throws IOException {
        Path dir = ipamDir.resolve("testnet");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (var files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith(SUBNET_PREFIX)).toList();
        }
    }

    static void assertNothingLeftOf(String id, String ip) throws Exception {
        assertFalse(Files.exists(stateDir.resolve(id).resolve("netns")), "netns file of " + id);
        assertFalse(Mounts.mountPoints().stream().anyMatch(p -> p.startsWith(stateDir)), "mounts under " + stateDir);
        assertTrue(veths().isEmpty(), veths().toString());
        assertFalse(Files.exists(ipamDir.resolve("testnet").resolve(ip)), "host-local still holds " + ip);
    }

    record Result(int exit, String output) {
    }

    static Result run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out);
    }

    static String check(String... command) throws Exception {
        Result r = run(command);
        if (r.exit() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + r.output());
        }
        return r.output();
    }

}
