package dev.vessel.isolators.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Namespace;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.Rlimit;
import dev.vessel.core.model.Termination;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.isolators.namespaces.NamespacesIsolator;
import dev.vessel.isolators.posix.PosixRlimitsIsolator;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.launcher.process.ProcessLauncher;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code linux/capabilities}, {@code posix/rlimits} and {@code namespaces} with real process
 * containers, through the unified containerizer, checked from inside the task (/proc/self).
 */
class LinuxIsolatorsTest {
    /** CapEff of a root task with podman's default set (as {@code podman run} shows it). */
    static final String DEFAULT_MASK = "00000000800405fb";
    static final String NO_CAPS = "0000000000000000";

    @TempDir
    static Path tmp;

    static Path rootfs;
    /** The three isolators as a node would wire them, with a node-wide RLIMIT_NOFILE default. */
    static Node node;
    /** A node configured to leave containers in the host's ipc namespace. */
    static Node hostIpcNode;
    /** A node whose containers run in a user namespace: container 0 is host 100000, 65536 ids. */
    static Node userNsNode;

    @BeforeAll
    static void startNodes() throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("linux isolator tests must run as root (namespaces, capabilities)");
        }
        // The user namespace's root is host uid 100000: it must reach the rootfs through our temp dir.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        Isolator rlimits = new PosixRlimitsIsolator(
                List.of(Rlimit.newBuilder().setType("nofile").setSoft(1024).setHard(4096).build()));
        node = new Node(tmp.resolve("node"), List.of(new LinuxCapabilitiesIsolator(), rlimits, new NamespacesIsolator()));
        Isolator noIpc = new NamespacesIsolator(
                EnumSet.of(Namespace.PID, Namespace.MOUNT, Namespace.UTS, Namespace.CGROUP), Optional.empty());
        hostIpcNode = new Node(tmp.resolve("host-ipc"), List.of(new LinuxCapabilitiesIsolator(), noIpc));
        Isolator userNs = new NamespacesIsolator(NamespacesIsolator.DEFAULT,
                Optional.of(new NamespacesIsolator.IdRange(100000, 65536)));
        userNsNode = new Node(tmp.resolve("userns"), List.of(new LinuxCapabilitiesIsolator(), userNs));
    }

    @AfterAll
    static void stopNodes() {
        for (Node n : new Node[] {node, hostIpcNode, userNsNode}) {
            if (n != null) {
                n.containerizer.list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                        .forEach(s -> n.containerizer.destroy(s.getId()));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // linux/capabilities

    @Test
    void aRootTaskGetsPodmansDefaultSet() throws Exception {
        node.run(config("caps-default", "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status"));
        assertEquals(capLines("0000000000000000", DEFAULT_MASK, DEFAULT_MASK, DEFAULT_MASK, NO_CAPS),
                node.stdout("caps-default"));
    }

    @Test
    void aContainerWithoutAHostnameIsNamedAfterItsId() throws Exception {
        node.run(config("named-by-id", "hostname"));
        assertEquals("named-by-id\n", node.stdout("named-by-id"));
    }

    @Test
    void dropAllLeavesNothing() throws Exception {
        node.run(config("caps-none", "grep -E '^Cap(Eff|Bnd)' /proc/self/status")
                .setCapabilities(Capabilities.newBuilder().addDrop("ALL")));
        assertEquals("CapEff:\t" + NO_CAPS + "\nCapBnd:\t" + NO_CAPS + "\n", node.stdout("caps-none"));
    }

    @Test
    void anAddedCapabilityIsPresent() throws Exception {
        node.run(config("caps-net-admin", "grep ^CapEff /proc/self/status")
                .setCapabilities(Capabilities.newBuilder().addAdd("CAP_NET_ADMIN")));
        // CAP_NET_ADMIN is bit 12
        assertEquals("CapEff:\t00000000800415fb\n", node.stdout("caps-net-admin"));
    }

    @Test
    void aDroppedCapabilityIsGone() throws Exception {
        String script = "touch /tmp/$0 && chown 1000 /tmp/$0 && rm /tmp/$0";
        Termination with = node.run(config("chown-ok", script).addArgs("f1"));
        assertEquals(0, with.getExitCode(), node.stderr("chown-ok"));
        Termination without = node.run(config("chown-denied", script).addArgs("f2")
                .setCapabilities(Capabilities.newBuilder().addDrop("CAP_CHOWN")));
        assertNotEquals(0, without.getExitCode());
        assertTrue(node.stderr("chown-denied").contains("Operation not permitted"), node.stderr("chown-denied"));
    }

    @Test
    void aNonRootUserKeepsOnlyTheBoundingSet() throws Exception {
        node.run(config("caps-app", "grep -E '^Cap(Prm|Eff|Bnd)' /proc/self/status").setUser("app"));
        assertEquals("CapPrm:\t" + NO_CAPS + "\nCapEff:\t" + NO_CAPS + "\nCapBnd:\t" + DEFAULT_MASK + "\n",
                node.stdout("caps-app"));
    }

    /** CAP_SYS_ADMIN lets the task mount; its mounts stay in its own mount namespace. */
    @Test
    void mountsInsideStayInside() throws Exception {
        node.containerizer.launch(config("mounter",
                "mount -t tmpfs inner /mnt && grep -c ' /mnt ' /proc/self/mountinfo && echo ready && sleep 1000")
                .setCapabilities(Capabilities.newBuilder().addAdd("CAP_SYS_ADMIN")).build());
        node.awaitOutput("mounter", "ready");
        assertEquals("1\nready\n", node.stdout("mounter"));
        String host = read(Path.of("/proc/self/mountinfo"));
        assertFalse(host.contains(rootfs.toString()), "the container's mounts leaked to the host:\n" + host);
        node.containerizer.destroy("mounter");
    }

    @Test
    void anUnknownCapabilityIsRefusedNamingItsField() {
        VesselException add = assertThrows(VesselException.class, () -> LinuxCapabilitiesIsolator.capabilities(
                Capabilities.newBuilder().addAdd("CAP_CHOWN").addAdd("CAP_FLY").build()));
        assertEquals("capabilities.add[1]", add.field().orElseThrow());
        VesselException drop = assertThrows(VesselException.class, () -> LinuxCapabilitiesIsolator.capabilities(
                Capabilities.newBuilder().addDrop("CAP_FLY").build()));
        assertEquals("capabilities.drop[0]", drop.field().orElseThrow());
    }

    // ---------------------------------------------------------------------------------------------
    // posix/rlimits

    @Test
    void theNodeDefaultApplies() throws Exception {
        node.run(config("limits-default", "ulimit -n; ulimit -Hn"));
        assertEquals("1024\n4096\n", node.stdout("limits-default"));
    }

    @Test
    void theConfigsRlimitWinsOverTheDefault() throws Exception {
        node.run(config("limits", "ulimit -n; ulimit -Hn")
                .addRlimits(Rlimit.newBuilder().setType("RLIMIT_NOFILE").setSoft(123).setHard(456)));
        assertEquals("123\n456\n", node.stdout("limits"));
    }

    @Test
    void aBadDefaultIsRefusedNamingItsField() {
        VesselException unknown = assertThrows(VesselException.class, () -> new PosixRlimitsIsolator(
                List.of(Rlimit.newBuilder().setType("RLIMIT_COFFEE").build())));
        assertEquals("rlimit_defaults[0].type", unknown.field().orElseThrow());
        VesselException inverted = assertThrows(VesselException.class, () -> new PosixRlimitsIsolator(
                List.of(Rlimit.newBuilder().setType("nofile").setSoft(10).setHard(5).build())));
        assertEquals("rlimit_defaults[0]", inverted.field().orElseThrow());
    }

    // ---------------------------------------------------------------------------------------------
    // namespaces

    static final String NAMESPACES_SCRIPT = "for n in ipc uts cgroup net; do readlink /proc/self/ns/$n; done";

    @Test
    void theDefaultNamespacesAreTheContainersOwnTheNetworkIncluded() throws Exception {
        node.run(config("ns", NAMESPACES_SCRIPT));
        List<String> inside = node.stdout("ns").lines().toList();
        assertNotEquals(hostNamespace("ipc"), inside.get(0));
        assertNotEquals(hostNamespace("uts"), inside.get(1));
        assertNotEquals(hostNamespace("cgroup"), inside.get(2));
        assertNotEquals(hostNamespace("net"), inside.get(3));
    }

    @Test
    void theNetworkHostSharesTheHostsNetworkNamespace() throws Exception {
        node.run(config("ns-host-net", NAMESPACES_SCRIPT).addNetworks(network(NetworkNames.HOST)));
        assertEquals(hostNamespace("net"), node.stdout("ns-host-net").lines().toList().get(3));
    }

    @Test
    void theNetworkNoneIsTheDefaultsPrivateNamespace() throws Exception {
        node.run(config("ns-none", NAMESPACES_SCRIPT).addNetworks(network(NetworkNames.NONE)));
        assertNotEquals(hostNamespace("net"), node.stdout("ns-none").lines().toList().get(3));
    }

    @Test
    void aDefaultContainerHasOnlyLoopbackAndItIsUp() throws Exception {
        // the interfaces of /proc/net/dev (after its two header lines), then lo's flags (IFF_UP is 0x1)
        Termination t = node.run(config("only-lo",
                "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; cat /sys/class/net/lo/flags"));
        assertEquals(0, t.getExitCode(), node.stderr("only-lo"));
        List<String> out = node.stdout("only-lo").lines().toList();
        assertEquals(List.of("lo"), out.subList(0, out.size() - 1));
        assertEquals(1, Integer.decode(out.getLast()) & 1, "lo is up: flags " + out.getLast());
    }

    @Test
    void loopbackCarriesTrafficInsideADefaultContainer() throws Exception {
        // a listener and a client inside, tried again until the listener got the bytes: busybox's nc
        // listener, its stdin at EOF, may close before they arrive, and the client may come before it listens
        String script = "i=0; until [ -s /tmp/got ]; do i=$((i+1)); [ $i -gt 50 ] && exit 7;"
                + " nc -l -p 5000 > /tmp/got & sleep 0.1; echo hello | nc 127.0.0.1 5000 2>/dev/null;"
                + " sleep 0.1; kill $! 2>/dev/null; wait; done; cat /tmp/got";
        Termination t = node.run(config("lo-traffic", script));
        assertEquals(0, t.getExitCode(), node.stderr("lo-traffic"));
        assertEquals("hello\n", node.stdout("lo-traffic"));
    }

    @Test
    void aHostLoopbackListenerIsOutOfReachOfADefaultContainer() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            Termination t = node.run(config("no-host-lo", "echo hello | nc 127.0.0.1 " + listener.getLocalPort()));
            assertNotEquals(0, t.getExitCode(), "the host's listener answered: " + node.stdout("no-host-lo"));
            assertTrue(node.stderr("no-host-lo").contains("refused"), node.stderr("no-host-lo"));
            listener.setSoTimeout(1); // the task has ended: a connection it made would be queued already
            assertThrows(SocketTimeoutException.class, listener::accept);
        }
    }

    @Test
    void aHostLoopbackListenerIsReachableWithTheNetworkHost() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            node.containerizer.launch(config("host-lo", "echo hello | nc 127.0.0.1 " + listener.getLocalPort())
                    .addNetworks(network(NetworkNames.HOST)).build());
            listener.setSoTimeout(30_000);
            try (Socket from = listener.accept()) {
                // reading to the end closes our side, which ends the task's nc
                assertEquals("hello\n", new String(from.getInputStream().readNBytes(6), StandardCharsets.UTF_8));
            }
            Termination t = node.containerizer.wait("host-lo").get(30, TimeUnit.SECONDS);
            assertEquals(0, t.getExitCode(), node.stderr("host-lo"));
        }
    }

    @Test
    void aNodeWithoutIpcSharesTheHostsIpcNamespace() throws Exception {
        hostIpcNode.run(config("ns-host-ipc", NAMESPACES_SCRIPT));
        List<String> inside = hostIpcNode.stdout("ns-host-ipc").lines().toList();
        assertEquals(hostNamespace("ipc"), inside.get(0));
        assertNotEquals(hostNamespace("uts"), inside.get(1));
    }

    @Test
    void aUserNamespaceMapsRootToTheConfiguredRange() throws Exception {
        userNsNode.containerizer.launch(config("userns",
                "cat /proc/self/uid_map /proc/self/gid_map; id -u; echo ready; sleep 1000").build());
        userNsNode.awaitOutput("userns", "ready");
        List<List<String>> lines = userNsNode.stdout("userns").lines()
                .map(l -> Arrays.asList(l.trim().split("\\s+"))).toList();
        assertEquals(List.of(List.of("0", "100000", "65536"), List.of("0", "100000", "65536"), List.of("0"),
                List.of("ready")), lines);
        // root inside, an unprivileged host uid outside
        long pid = userNsNode.containerizer.status("userns").getPid();
        String uids = read(Path.of("/proc/" + pid + "/status")).lines().filter(l -> l.startsWith("Uid:"))
                .findFirst().orElseThrow();
        assertEquals(List.of("Uid:", "100000", "100000", "100000", "100000"), Arrays.asList(uids.split("\\s+")));
        userNsNode.containerizer.destroy("userns");
    }

    @Test
    void aUserNamespacesContainerGetsItsOwnNetworkWithLoopbackUp() throws Exception {
        Termination t = userNsNode.run(config("userns-net", "readlink /proc/self/ns/net; cat /sys/class/net/lo/flags"));
        assertEquals(0, t.getExitCode(), userNsNode.stderr("userns-net"));
        List<String> out = userNsNode.stdout("userns-net").lines().toList();
        assertNotEquals(hostNamespace("net"), out.get(0));
        assertEquals(1, Integer.decode(out.get(1)) & 1, "lo is up: flags " + out.get(1));
    }

    @Test
    void namespacesThatAreNotItsOwnAreRefused() {
        // each container's networks decide NET
        VesselException net = assertThrows(VesselException.class,
                () -> new NamespacesIsolator(EnumSet.of(Namespace.NET), Optional.empty()));
        assertEquals("namespaces", net.field().orElseThrow());
        VesselException user = assertThrows(VesselException.class,
                () -> new NamespacesIsolator(EnumSet.of(Namespace.USER), Optional.empty()));
        assertEquals("namespaces", user.field().orElseThrow());
        VesselException range = assertThrows(VesselException.class, () -> new NamespacesIsolator.IdRange(100000, 0));
        assertEquals("user_namespace", range.field().orElseThrow());
    }

    // ---------------------------------------------------------------------------------------------

    static ContainerConfig.Builder config(String id, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS)
                .addCommand("/bin/sh").addArgs("-c").addArgs(script).setHostRootfs(rootfs.toString());
    }

    static NetworkAttachment network(String name) {
        return NetworkAttachment.newBuilder().setNetwork(name).build();
    }

    static String capLines(String inh, String prm, String eff, String bnd, String amb) {
        return "CapInh:\t" + inh + "\nCapPrm:\t" + prm + "\nCapEff:\t" + eff + "\nCapBnd:\t" + bnd + "\nCapAmb:\t" + amb
                + "\n";
    }

    /** The test JVM's own namespace, e.g. {@code ipc:[4026531839]}. */
    static String hostNamespace(String name) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/self/ns", name)).toString();
    }

    /** The file's text, empty if it does not exist (read as a stream: procfs file sizes lie). */
    static String read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return "";
        }
    }

    /** A containerizer with the process launcher and the given isolators, in its own directories. */
    static final class Node {
        final RuntimePaths paths;
        final UnifiedContainerizer containerizer;

        Node(Path dir, List<Isolator> isolators) throws Exception {
            paths = new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
            containerizer = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                    .launcher(ProcessLauncher.withBundledHelper(paths)).isolators(isolators).build();
            containerizer.recover();
        }

        Termination run(ContainerConfig.Builder config) throws Exception {
            containerizer.launch(config.build());
            return containerizer.wait(config.getId()).get(30, TimeUnit.SECONDS);
        }

        String stdout(String id) throws IOException {
            return read(paths.stdoutLog(paths.containerDir(List.of(id))));
        }

        String stderr(String id) throws IOException {
            return read(paths.stderrLog(paths.containerDir(List.of(id))));
        }

        /** Waits until the task printed {@code line} (it is set up and about to sleep). */
        void awaitOutput(String id, String line) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!stdout(id).contains(line + "\n")) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(id + " did not print '" + line + "': stdout " + stdout(id)
                            + ", stderr " + stderr(id));
                }
                Thread.sleep(20);
            }
        }
    }
}
