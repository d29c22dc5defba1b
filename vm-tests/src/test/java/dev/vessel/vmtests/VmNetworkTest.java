package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.CloudInit;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.HostEntry;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.PortMapping;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.VmMachine;
import dev.vessel.core.model.VmOptions;
import dev.vessel.isolators.network.CniIsolator;
import dev.vessel.isolators.vm.VmNetworkIsolator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A VM task on a CNI network, end to end: Debian's bridge and host-local plugins, a real guest, TCP
 * both ways. The CNI plugins run inside a network namespace the test makes (the "outside"), so the
 * bridge, its gateway address and the veths' outer ends live there; the guest's NIC is joined to the
 * container's interface inside the container's own namespace. The host's own network carries nothing.
 */
class VmNetworkTest {
    private static final String OUTSIDE = "net-vmtest-" + UUID.randomUUID().toString().substring(0, 8);
    private static final String GATEWAY = "10.89.3.1";
    private static final String ID = "net-serve";

    private static Path dir;
    private static VmNode node;
    private static ImageReference image;
    private static Process outsideServer;

    @BeforeAll
    static void startNode() throws Exception {
        VmNode.requireRootAndLibvirt();
        if (!Files.isExecutable(Path.of("/usr/lib/cni/bridge"))) {
            throw new IllegalStateException("/usr/lib/cni/bridge is missing: apt-get install containernetworking-plugins");
        }
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-vmnet-");
        VmNode.run("ip", "netns", "add", OUTSIDE);
        VmNode.run("ip", "-n", OUTSIDE, "link", "set", "lo", "up");
        Path configDir = Files.createDirectories(dir.resolve("net.d"));
        Files.writeString(configDir.resolve("10-vmnet.conflist"), """
                {"cniVersion": "1.0.0", "name": "vmnet", "plugins": [
                  {"type": "bridge", "bridge": "vmnet0", "isGateway": true, "ipMasq": false,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.89.3.0/24"}]],
                            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "%s"}},
                  {"type": "portmap", "capabilities": {"portMappings": true}}]}
                """.formatted(dir.resolve("ipam")));
        Files.writeString(configDir.resolve("20-vmnet2.conflist"), """
                {"cniVersion": "1.0.0", "name": "vmnet2", "plugins": [
                  {"type": "bridge", "bridge": "vmnet1", "isGateway": true, "ipMasq": false,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.89.4.0/24"}]], "dataDir": "%s"}}]}
                """.formatted(dir.resolve("ipam")));
        image = VmNode.busyboxImage(dir);
        node = startedNode();
    }

    /** A node with the CNI isolator (its plugins run outside) and vm/network; over the same dir, a restart. */
    private static VmNode startedNode() throws Exception {
        var paths = VmNode.pathsIn(dir);
        return new VmNode(dir, List.of(
                new CniIsolator(dir.resolve("net.d"), List.of(Path.of("/usr/lib/cni")), paths.cniStateDir(),
                        plugin -> List.of("ip", "netns", "exec", OUTSIDE, plugin.toString())),
                new VmNetworkIsolator(paths))).recovered();
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (outsideServer != null) {
            outsideServer.destroy(); // the busybox httpd this test started, by its own handle
            outsideServer.waitFor(10, TimeUnit.SECONDS);
        }
        if (node != null) {
            node.destroyAllAndClose();
        }
        new ProcessBuilder("ip", "netns", "del", OUTSIDE).start().waitFor(30, TimeUnit.SECONDS);
        if (dir != null) {
            VmNode.run("rm", "-rf", dir.toString());
        }
    }

    /**
     * The guest fetches a token from a server outside (through its default route), serves it back
     * over HTTP, and the outside fetches it from the guest's CNI address: the same bytes crossed the
     * guest's NIC both ways. Destroying the task leaves no tap, namespace, domain or file. (Both
     * clients are nc: the static busybox's wget segfaulted in the guest, and from the outside it
     * failed without a message where nc, over the same path, succeeded.)
     */
    @Test
    void aVmTaskOnACniNetworkTalksTcpBothWaysAndLeavesNothingBehind() throws Exception {
        List<String> hostLinksBefore = hostLinks();
        String token = "token-" + UUID.randomUUID();
        Path www = Files.createDirectories(dir.resolve("outside-www"));
        Files.writeString(www.resolve("token"), token);
        // on every address: the gateway's appears only when the first ADD makes the bridge
        outsideServer = new ProcessBuilder("ip", "netns", "exec", OUTSIDE, "busybox", "httpd", "-f",
                "-p", "8081", "-h", www.toString()).redirectErrorStream(true).start();

        ContainerConfig config = ContainerConfig.newBuilder().setId(ID).setIsolation(Isolation.VM).setImage(image)
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("vmnet")
                        .addPorts(PortMapping.newBuilder().setHostPort(18080).setContainerPort(8080)))
                .addAllCommand(List.of("/bin/sh", "-c", """
                        mkdir -p /tmp/www
                        printf 'GET /token HTTP/1.0\r\n\r\n' | nc %s 8081 > /tmp/response || exit 11
                        sed '1,/^\r$/d' /tmp/response > /tmp/www/index.html
                        httpd -p 8080 -h /tmp/www || exit 12
                        echo ready
                        sleep 1000
                        """.formatted(GATEWAY)))
                .build();
        node.containerizer.launch(config);
        awaitStdout(ID, "ready\n");

        ContainerStatus status = node.containerizer.status(ID);
        assertEquals(1, status.getIpAddressesCount(), status::toString);
        String guestIp = status.getIpAddresses(0);
        assertTrue(guestIp.startsWith("10.89.3."), guestIp);
        Path netns = node.paths.cniStateDir().resolve(ID).resolve("netns");
        assertServes(ID, guestIp, token);
        // and on the node's side of the network, through the port mapping (portmap's DNAT to the guest)
        String mapped = VmNode.run("ip", "netns", "exec", OUTSIDE, "busybox", "sh", "-c",
                "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 20 " + GATEWAY + " 18080");
        assertTrue(mapped.endsWith("\r\n\r\n" + token), () -> "the mapped port did not reach the guest: '" + mapped + "'");
        // its usage counts what its tap moved: the guest received the token and sent its page
        ResourceStatistics usage = node.containerizer.usage(ID);
        assertTrue(usage.getNetRxBytes() > token.length() && usage.getNetTxBytes() > token.length(), usage::toString);

        // While it runs, the guest's tap lives in the container's namespace, joined by tc, not in the host's.
        assertEquals(hostLinksBefore, hostLinks(), "a link appeared in the host's network namespace");
        String containerLinks = VmNode.run("nsenter", "--net=" + netns, "ip", "-o", "link", "show");
        String tap = containerLinks.lines().filter(l -> l.contains(": vt")).findFirst()
                .map(l -> l.split(": ")[1].split("[@:]")[0]).orElseThrow(() -> new AssertionError(containerLinks));
        assertTrue(VmNode.run("nsenter", "--net=" + netns, "tc", "filter", "show", "dev", "eth0", "ingress")
                .contains("Egress Redirect to device " + tap));
        assertTrue(VmNode.run("nsenter", "--net=" + netns, "tc", "filter", "show", "dev", tap, "ingress")
                .contains("Egress Redirect to device eth0"));

        destroyAndAssertNothingLeft(ID, hostLinksBefore);
        assertFalse(VmNode.run("ip", "netns", "exec", OUTSIDE, "iptables-save", "-t", "nat").contains("18080"),
                "portmap's DEL left the DNAT rule");
    }

    /**
     * Two networks, two NICs (eth0 and eth1 each joined to their own), the resolver files the task was given, and a
     * daemon restart: the new node finds the task, the guest still answers on both addresses, and its destroy cleans
     * up.
     */
    @Test
    void aTaskOnTwoNetworksSurvivesARestartAndItsDestroyLeavesNothing() throws Exception {
        String id = "net-restart";
        List<String> hostLinksBefore = hostLinks();
        node.containerizer.launch(ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).setImage(image)
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("vmnet"))
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("vmnet2"))
                .addDnsServers("10.89.3.1").addDnsSearch("vessel.test")
                .addExtraHosts(HostEntry.newBuilder().setHostname("db").setIp("10.89.4.9"))
                .addAllCommand(List.of("/bin/sh", "-c",
                        "mkdir -p /tmp/www && echo -n still-here > /tmp/www/index.html && httpd -p 8080 -h /tmp/www"
                                + " && cat /etc/resolv.conf /etc/hosts /etc/hostname && echo ready && sleep 1000"))
                .build());
        List<String> ips = node.containerizer.status(id).getIpAddressesList();
        assertEquals(2, ips.size(), ips::toString);
        assertTrue(ips.get(0).startsWith("10.89.3.") && ips.get(1).startsWith("10.89.4."), ips::toString);
        // its resolver files, made on the host as a process container's and bound over the image's by its guest
        awaitStdout(id, "nameserver 10.89.3.1\nsearch vessel.test\n"
                + "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                + ips.get(0) + "\t" + id + "\n" + ips.get(1) + "\t" + id + "\n10.89.4.9\tdb\n"
                + id + "\nready\n");

        node.close(); // the daemon goes away; the VM and its network stay
        node = startedNode();
        assertEquals(ContainerState.RUNNING, node.containerizer.status(id).getState());
        assertEquals(ips, node.containerizer.status(id).getIpAddressesList());
        for (String ip : ips) {
            assertServes(id, ip, "still-here");
        }
        destroyAndAssertNothingLeft(id, hostLinksBefore);
    }

    /**
     * A full VM from the Debian cloud image on the same network: cloud-init configures its NIC from the
     * seed's network-config with the address CNI's IPAM gave (no DHCP server exists here), and the
     * guest serves on that address and on a mapped port of the node's side. Destroying it leaves nothing.
     */
    @Test
    void aFullVmTakesItsCniAddressFromTheSeedAndServesOnItAndOnAMappedPort() throws Exception {
        String id = "net-machine";
        List<String> hostLinksBefore = hostLinks();
        VmNode.CloudImage image = VmNode.cloudImage();
        String token = "machine-" + UUID.randomUUID();
        String userData = String.join("\n",
                "#cloud-config",
                "runcmd:",
                "  - [sh, -c, 'mkdir -p /srv/www && printf %s " + token + " > /srv/www/token']",
                // a unit of its own, so that it outlives cloud-init's final stage
                "  - [systemd-run, --unit=vessel-www, python3, -m, http.server, '8080', --directory, /srv/www]",
                // serving once the port answers: python's start takes seconds under TCG on a busy host
                "  - [bash, -c, 'until (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; do sleep 0.5; done;"
                        + " echo \"VESSEL-SERVING $(hostname -I)\" > /dev/ttyS0']",
                "");
        node.containerizer.launch(ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).setHostname("net-vm")
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("vmnet")
                        .addPorts(PortMapping.newBuilder().setHostPort(18081).setContainerPort(8080)))
                .setVm(VmOptions.newBuilder().setVcpus(1).setMemoryBytes(1024L << 20)
                        .setMachine(VmMachine.newBuilder().setBaseImage(image.disk().toString()).setBaseFormat("qcow2")
                                .setDisk(dir.resolve("net-machine.qcow2").toString())
                                .setCloudInit(CloudInit.newBuilder().setUserData(userData))))
                .build());
        String ip = node.containerizer.status(id).getIpAddresses(0);
        assertTrue(ip.startsWith("10.89.3."), ip);

        Path console = node.paths.consoleLog(node.paths.containerDir(List.of(id)));
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(6);
        while (!(Files.exists(console) && Files.readString(console, StandardCharsets.ISO_8859_1).contains("VESSEL-SERVING"))) {
            assertTrue(System.nanoTime() < deadline, () -> "the VM never served:\n" + read(console));
            Thread.sleep(500);
        }
        assertTrue(read(console).contains("VESSEL-SERVING " + ip + " "), () -> "the guest has another address:\n"
                + read(console));
        for (String target : List.of(ip + " 8080", GATEWAY + " 18081")) {
            String reply = VmNode.run("ip", "netns", "exec", OUTSIDE, "busybox", "sh", "-c",
                    "printf 'GET /token HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 20 " + target);
            assertTrue(reply.startsWith("HTTP/1.") && reply.endsWith(token), () -> target + " answered '" + reply + "'");
        }
        destroyAndAssertNothingLeft(id, hostLinksBefore);
        assertFalse(VmNode.run("ip", "netns", "exec", OUTSIDE, "iptables-save", "-t", "nat").contains("18081"),
                "portmap's DEL left the DNAT rule");
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    /** Fetches /index.html from the guest over TCP from the outside namespace; it must be {@code body}. */
    private static void assertServes(String id, String guestIp, String body) throws Exception {
        Process fetch = new ProcessBuilder("ip", "netns", "exec", OUTSIDE, "busybox", "sh", "-c",
                "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 20 " + guestIp + " 8080")
                .redirectErrorStream(true).start();
        String response = new String(fetch.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = fetch.waitFor();
        assertTrue(response.startsWith("HTTP/1.") && response.endsWith("\r\n\r\n" + body),
                () -> "the outside did not fetch '" + body + "' from the guest (nc exit " + exit + "): '" + response
                        + "'\n" + diagnostics(id));
    }

    private static void destroyAndAssertNothingLeft(String id, List<String> hostLinksBefore) throws Exception {
        Path netns = node.paths.cniStateDir().resolve(id).resolve("netns");
        Termination t = node.containerizer.destroy(id);
        assertEquals(TerminationReason.KILLED, t.getReason(), t::toString);
        node.containerizer.remove(id);
        assertFalse(VmNode.domains().stream().anyMatch(d -> d.contains(id)), "a domain is left");
        assertEquals(hostLinksBefore, hostLinks(), "a link is left in the host's network namespace");
        assertFalse(Files.exists(node.paths.cniStateDir().resolve(id)), "the container's netns is left");
        assertFalse(VmNode.run("cat", "/proc/self/mountinfo").contains(netns.toString()), "the netns is still mounted");
        assertFalse(Files.exists(node.paths.vmNetworkStateDir().resolve(id + ".ckpt")), "a vm/network checkpoint is left");
        assertFalse(Files.exists(node.paths.containerDir(List.of(id))), "the container dir is left");
        String outsideLinks = VmNode.run("ip", "-n", OUTSIDE, "-o", "link", "show");
        assertFalse(outsideLinks.contains("veth"), "a veth is left outside: " + outsideLinks);
    }

    /** What the guest, the container's namespace and the outside say, for a failure's message. */
    private static String diagnostics(String id) {
        Path netns = node.paths.cniStateDir().resolve(id).resolve("netns");
        StringBuilder out = new StringBuilder();
        for (String command : List.of(
                "cat " + node.paths.stderrLog(node.paths.containerDir(List.of(id))),
                "nsenter --net=" + netns + " ip -s link",
                "nsenter --net=" + netns + " tc -s filter show dev eth0 ingress",
                "ip -n " + OUTSIDE + " neigh", "ip -n " + OUTSIDE + " -s link")) {
            try {
                Process p = new ProcessBuilder("sh", "-c", command).redirectErrorStream(true).start();
                out.append("$ ").append(command).append('\n')
                        .append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                p.waitFor();
            } catch (Exception e) {
                out.append(command).append(": ").append(e).append('\n');
            }
        }
        return out.toString();
    }

    private static List<String> hostLinks() throws Exception {
        return VmNode.run("ip", "-o", "link", "show").lines()
                .map(l -> l.split(": ")[1]).sorted().toList();
    }

    private static void awaitStdout(String id, String expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        Path log = node.paths.stdoutLog(node.paths.containerDir(List.of(id)));
        while (!(Files.exists(log) && Files.readString(log, StandardCharsets.UTF_8).equals(expected))) {
            if (System.nanoTime() > deadline || node.containerizer.status(id).getState() == ContainerState.TERMINATED) {
                Path stderr = node.paths.stderrLog(node.paths.containerDir(List.of(id)));
                throw new AssertionError(id + ": stdout never became '" + expected + "': "
                        + (Files.exists(log) ? Files.readString(log) : "(no log)")
                        + " stderr: " + (Files.exists(stderr) ? Files.readString(stderr) : "(none)")
                        + " " + node.containerizer.status(id));
            }
            Thread.sleep(100);
        }
    }
}
