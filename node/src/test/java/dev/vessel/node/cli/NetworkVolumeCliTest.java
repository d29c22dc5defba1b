package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.node.DaemonProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vessel network} and {@code vessel volume} against a real daemon and Debian's CNI plugins. The daemon
 * runs in a network namespace the test makes, so the bridges, veths and iptables rules of its networks live
 * there and the host's network is never touched (checked: its links and iptables rules are as they were).
 */
class NetworkVolumeCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TAG = UUID.randomUUID().toString().substring(0, 8);
    static final String NETNS = "vessel-nouns-" + TAG;

    @TempDir
    static Path tmp;
    static Path rootfs;
    static Path cniConfig;
    static CliNode node;
    static boolean netnsCreated;
    static String hostLinks;
    static String hostRules;

    @BeforeAll
    static void startDaemon() throws Exception {
        DaemonProcess.requireRoot();
        if (!Files.isExecutable(Path.of("/usr/lib/cni/bridge"))) {
            throw new IllegalStateException("/usr/lib/cni/bridge is missing: apt-get install containernetworking-plugins");
        }
        hostLinks = links(null);
        hostRules = iptables();
        sh("ip", "netns", "add", NETNS);
        netnsCreated = true;
        sh("ip", "-n", NETNS, "link", "set", "lo", "up");
        cniConfig = Files.createDirectories(tmp.resolve("net.d"));
        node = CliNode.start(tmp, "nouns", Path.of("/run/netns", NETNS), Map.of(),
                "--cni-config-dir", cniConfig.toString(), "--cni-plugin-dir", "/usr/lib/cni");
        rootfs = node.rootfs();
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        try {
            if (node != null) {
                node.close();
            }
        } finally {
            if (netnsCreated) {
                sh("ip", "netns", "del", NETNS);
            }
        }
        assertEquals(hostLinks, links(null), "the host's links are as they were");
        assertEquals(hostRules, iptables(), "the host's iptables rules are as they were");
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void theNounsAnswerHelp() {
        for (String noun : List.of("network", "volume")) {
            for (String sub : List.of("create", "ls", "inspect", "rm", "prune")) {
                CliNode.Result help = vessel(noun, sub, "--help");
                assertEquals(0, help.code(), help::toString);
                assertTrue(help.out().contains("Usage: vessel " + noun + " " + sub), help::toString);
            }
            CliNode.Result bare = vessel(noun);
            assertNotEquals(0, bare.code(), bare::toString);
            assertTrue(bare.err().contains("give a subcommand"), bare::toString);
        }
    }

    @Test
    void aCreatedNetworkGivesItsContainersAddressesOfItsSubnetAndGoesOnlyWhenUnused() throws Exception {
        CliNode.Result created = vessel("network", "create", "--subnet", "10.89.77.0/24", "nouns-net");
        assertEquals(0, created.code(), created::toString);
        assertEquals("nouns-net\n", created.out());
        assertTrue(Files.isRegularFile(cniConfig.resolve("nouns-net.conflist")), "written where the daemon reads CNI configs");

        CliNode.Result ls = vessel("network", "ls");
        assertEquals(0, ls.code(), ls::toString);
        assertTrue(ls.out().lines().toList().getFirst().matches("NAME +DRIVER +SUBNETS +BRIDGE +CONTAINERS"), ls::toString);
        String row = ls.out().lines().filter(l -> l.startsWith("nouns-net ")).findFirst().orElseThrow(() -> new AssertionError(ls));
        assertTrue(row.contains("bridge") && row.contains("10.89.77.0/24"), row);
        JsonNode listed = JSON.readTree(vessel("network", "ls", "--format", "json").out());
        assertEquals("10.89.77.0/24", find(listed, "nouns-net").at("/subnets/0/subnet").asText(), listed::toString);
        JsonNode inspected = JSON.readTree(vessel("network", "inspect", "nouns-net").out());
        assertEquals("10.89.77.1", inspected.at("/subnets/0/gateway").asText(), inspected::toString);
        String bridge = inspected.path("network_interface").asText();

        if (!Files.exists(rootfs.resolve("etc/hosts"))) {
            Files.writeString(rootfs.resolve("etc/hosts"), ""); // a rootfs given as a directory: its own files only
        }
        for (String name : List.of("net-a", "net-b")) {
            CliNode.Result run = vessel("run", "-d", "--name", name, "--network", "nouns-net", "--cap-add", "NET_RAW",
                    "--rootfs", rootfs.toString(), "sh", "-c", "ip -4 addr show eth0; exec sleep 300");
            assertEquals(0, run.code(), run::toString);
        }
        String a = addressOf("net-a");
        String b = addressOf("net-b");
        assertNotEquals(a, b);
        CliNode.Result ping = vessel("exec", "net-a", "ping", "-c", "1", "-W", "10", b);
        assertEquals(0, ping.code(), ping::toString);
        ping = vessel("exec", "net-b", "ping", "-c", "1", "-W", "10", a);
        assertEquals(0, ping.code(), ping::toString);
        // its /etc/hosts names it on its address (the rootfs has one, so it gets the container's over it)
        CliNode.Result hosts = vessel("exec", "net-a", "cat", "/etc/hosts");
        assertTrue(hosts.out().lines().anyMatch(l -> l.equals(a + "\tnet-a")), hosts::toString);
        assertEquals(2, JSON.readTree(vessel("network", "inspect", "nouns-net").out()).path("containers").size());

        CliNode.Result refused = vessel("network", "rm", "nouns-net");
        assertNotEquals(0, refused.code(), refused::toString);
        assertTrue(refused.err().contains("net-a") && refused.err().contains("net-b"), refused::toString);
        assertTrue(Files.exists(cniConfig.resolve("nouns-net.conflist")), "nothing changed");

        assertEquals(0, vessel("rm", "-f", "net-a").code());
        CliNode.Result forced = vessel("network", "rm", "-f", "nouns-net");
        assertEquals(0, forced.code(), forced::toString);
        assertEquals("nouns-net\n", forced.out());
        assertFalse(Files.exists(cniConfig.resolve("nouns-net.conflist")));
        assertNotEquals(0, vessel("inspect", "net-b").code(), "-f removed the container that used it");
        assertFalse(links(NETNS).contains(bridge + ":"), "its bridge is gone:\n" + links(NETNS));
        assertFalse(Files.exists(node.daemon().runDir().resolve("cni-leases/nouns-net")), "its IP reservations are gone");
        assertNotEquals(0, vessel("network", "inspect", "nouns-net").code());
    }

    @Test
    void badNamesSubnetsAndDriversAreRefusedNamingTheFlagAndChangeNothing() throws Exception {
        assertEquals(0, vessel("network", "create", "--subnet", "10.89.78.0/24", "taken-net").code());
        try {
            refused("subnet", "network", "create", "--subnet", "10.89.79.5/24", "n1");        // host bits
            refused("subnet", "network", "create", "--subnet", "10.89.300.0/24", "n1");       // not an address
            refused("subnet", "network", "create", "--subnet", "10.89.79.0/33", "n1");        // prefix
            refused("subnet", "network", "create", "--subnet", "10.89.0.0/16", "n1");         // overlaps taken-net
            refused("gateway", "network", "create", "--subnet", "10.89.79.0/24", "--gateway", "10.89.80.1", "n1");
            refused("name", "network", "create", "_bad");
            refused("name", "network", "create", "bad/name");
            refused("name", "network", "create", "host");
            refused("name", "network", "create", "taken-net");
            refused("driver", "network", "create", "--driver", "macvlan", "n1");
            refused("format", "network", "ls", "--format", "yaml");
            try (var files = Files.list(cniConfig)) {
                assertEquals(List.of("taken-net.conflist"), files.map(p -> p.getFileName().toString()).toList());
            }
            // an operator's network: used and listed, its subnet taken, never removed by vessel
            Files.writeString(cniConfig.resolve("50-operator.conflist"), """
                    {"cniVersion": "1.0.0", "name": "operator-net", "plugins": [
                      {"type": "bridge", "bridge": "opbr0", "ipam": {"type": "host-local", "subnet": "10.89.81.0/24"}}]}
                    """);
            refused("subnet", "network", "create", "--subnet", "10.89.81.128/25", "n1");
            refused("not created by vessel", "network", "rm", "operator-net");
            assertEquals("opbr0", JSON.readTree(vessel("network", "inspect", "operator-net").out())
                    .path("network_interface").asText());
            // without --subnet, the first free 10.89.N.0/24: not taken-net's
            assertEquals(0, vessel("network", "create", "auto-net").code());
            JsonNode auto = JSON.readTree(vessel("network", "inspect", "auto-net").out());
            assertEquals("10.89.0.0/24", auto.at("/subnets/0/subnet").asText(), auto::toString);
            refused("name", "volume", "create", "bad/volume");
            refused("label", "volume", "create", "--label", "=v", "v1");
        } finally {
            CliNode.Result prune = vessel("network", "prune");
            assertEquals(0, prune.code(), prune::toString);
            assertTrue(prune.out().contains("taken-net") && !prune.out().contains("operator-net"), prune::toString);
            assertTrue(Files.deleteIfExists(cniConfig.resolve("50-operator.conflist")), "prune left the operator's file");
        }
        assertEquals(0, JSON.readTree(vessel("network", "ls", "--json").out()).size());
    }

    @Test
    void aNamedVolumeKeepsWhatOneContainerWroteForTheNextAndAcrossARestart() throws Exception {
        CliNode.Result created = vessel("volume", "create", "--label", "team=nouns", "nouns-vol");
        assertEquals(0, created.code(), created::toString);
        assertEquals("nouns-vol\n", created.out());
        CliNode.Result write = vessel("run", "--rm", "-v", "nouns-vol:/data", "--rootfs", rootfs.toString(),
                "sh", "-c", "echo kept > /data/f");
        assertEquals(0, write.code(), write::toString);
        // created on demand by the run that names it
        CliNode.Result other = vessel("run", "--name", "vol-user", "-v", "nouns-ondemand:/d", "--rootfs",
                rootfs.toString(), "true");
        assertEquals(0, other.code(), other::toString);

        node.kill9AndRestart(); // nothing the daemon keeps in memory matters

        CliNode.Result read = vessel("run", "--rm", "-v", "nouns-vol:/data:ro", "--rootfs", rootfs.toString(),
                "cat", "/data/f");
        assertEquals(0, read.code(), read::toString);
        assertEquals("kept\n", read.out());
        JsonNode inspected = JSON.readTree(vessel("volume", "inspect", "nouns-vol").out());
        assertEquals("nouns", inspected.at("/labels/team").asText(), inspected::toString);
        assertEquals("kept\n", Files.readString(Path.of(inspected.path("mountpoint").asText()).resolve("f")));
        CliNode.Result ls = vessel("volume", "ls");
        assertTrue(ls.out().lines().anyMatch(l -> l.matches("local +nouns-vol +0")), ls::toString);
        assertTrue(ls.out().lines().anyMatch(l -> l.matches("local +nouns-ondemand +1")), ls::toString);

        CliNode.Result refused = vessel("volume", "rm", "nouns-ondemand");
        assertNotEquals(0, refused.code(), refused::toString);
        assertTrue(refused.err().contains("vol-user"), refused::toString);
        CliNode.Result anonymous = vessel("volume", "create");
        assertEquals(0, anonymous.code(), anonymous::toString);
        String random = anonymous.out().strip();
        assertTrue(random.matches("[0-9a-f]{64}"), random);

        CliNode.Result prune = vessel("volume", "prune");
        assertEquals(0, prune.code(), prune::toString);
        assertEquals(List.of(random, "nouns-vol").stream().sorted().toList(), prune.out().lines().sorted().toList());
        assertEquals(List.of("nouns-ondemand"), vessel("volume", "ls", "-q").out().lines().toList());
        assertEquals(0, vessel("rm", "vol-user").code());
        CliNode.Result rm = vessel("volume", "rm", "nouns-ondemand");
        assertEquals(0, rm.code(), rm::toString);
        assertEquals("[]", JSON.readTree(vessel("volume", "ls", "--format", "json").out()).toString());
        try (var left = Files.list(node.daemon().stateDir().resolve("volumes"))) {
            assertEquals(List.of(), left.toList(), "no volume and no half-made one left");
        }
    }

    // ---------------------------------------------------------------------------------------------

    private static void refused(String flag, String... args) {
        CliNode.Result r = vessel(args);
        assertNotEquals(0, r.code(), r::toString);
        assertTrue(r.err().contains(flag), "names " + flag + ": " + r);
    }

    private static JsonNode find(JsonNode networks, String name) {
        for (JsonNode n : networks) {
            if (n.path("name").asText().equals(name)) {
                return n;
            }
        }
        throw new AssertionError(name + " not in " + networks);
    }

    /** The IPv4 address the task printed with {@code ip -4 addr show eth0}. */
    private static String addressOf(String id) throws InterruptedException {
        Pattern inet = Pattern.compile("inet (10\\.89\\.77\\.\\d+)/24");
        String out = "";
        for (int i = 0; i < 200; i++) {
            out = vessel("logs", id).out();
            Matcher m = inet.matcher(out);
            if (m.find()) {
                return m.group(1);
            }
            Thread.sleep(50);
        }
        throw new AssertionError(id + " printed no address of 10.89.77.0/24:\n" + out);
    }

    static CliNode.Result vessel(String... args) {
        return node.vessel(args);
    }

    /** The links' names, in a namespace or (null) the host's. */
    private static String links(String netns) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("ip"));
        if (netns != null) {
            command.addAll(List.of("-n", netns));
        }
        command.addAll(List.of("-o", "link", "show"));
        return String.join("\n", output(command).lines().map(l -> l.split(" ")[1]).sorted().toList());
    }

    private static String iptables() throws IOException, InterruptedException {
        return output(List.of("iptables", "-S")) + output(List.of("iptables", "-t", "nat", "-S"));
    }

    private static String output(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(command + " failed: " + out);
        }
        return out;
    }

    private static void sh(String... command) throws IOException, InterruptedException {
        output(List.of(command));
    }
}
