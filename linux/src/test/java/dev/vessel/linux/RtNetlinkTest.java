package dev.vessel.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The rtnetlink client against the real kernel, inside network namespaces the test makes with
 * {@code ip netns} (nothing touches the host's own network); {@code ip} and {@code tc} check the results.
 */
class RtNetlinkTest {
    private final String ns = "vessel-rtnl-" + UUID.randomUUID().toString().substring(0, 8);
    private final String other = ns + "-b";

    @BeforeEach
    void namespaces() throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("netlink tests must run as root (network namespaces)");
        }
        sh("ip netns add " + ns + " && ip netns add " + other
                + " && ip -n " + ns + " link add va type veth peer name vb"
                + " && ip -n " + ns + " link set va address 02:00:00:aa:bb:01");
    }

    @AfterEach
    void removeNamespaces() throws Exception {
        run("ip netns del " + ns + "; ip netns del " + other);
    }

    private Path netns(String name) {
        return Path.of("/run/netns", name);
    }

    @Test
    void readsTheLinksOfTheNamespaceItWasOpenedIn() throws Exception {
        try (RtNetlink netlink = RtNetlink.openIn(netns(ns))) {
            List<RtNetlink.Link> links = netlink.links();
            assertEquals(List.of("lo", "va", "vb"), links.stream().map(RtNetlink.Link::name).sorted().toList());
            RtNetlink.Link va = netlink.link("va").orElseThrow();
            assertEquals("02:00:00:aa:bb:01", va.mac());
            assertEquals(1500, va.mtu());
            assertFalse(va.up());
            assertTrue(netlink.link("lo").orElseThrow().loopback());
        }
        // the thread that opened it came back: this JVM still sees the host's links
        try (RtNetlink host = RtNetlink.open()) {
            assertTrue(host.link("va").isEmpty());
        }
    }

    @Test
    void configuresLinksAddressesAndRoutes() throws Exception {
        try (RtNetlink netlink = RtNetlink.openIn(netns(ns))) {
            int va = netlink.link("va").orElseThrow().index();
            int vb = netlink.link("vb").orElseThrow().index();
            netlink.setUp(vb);
            netlink.setUp(va);
            netlink.setMtu(va, 1400);
            netlink.addIpv4Address(va, ip("10.99.0.5"), 24);
            netlink.addIpv4Route(va, ip("0.0.0.0"), 0, ip("10.99.0.1"));
            netlink.addIpv4Route(va, ip("10.98.0.0"), 16, null);

            assertTrue(netlink.link("va").orElseThrow().up());
            assertEquals(1400, netlink.link("va").orElseThrow().mtu());
            assertEquals(List.of("10.99.0.5/24"), netlink.ipv4Addresses().stream()
                    .filter(a -> a.index() == va).map(Object::toString).toList());
            List<RtNetlink.Route> routes = netlink.ipv4Routes();
            Inet4Address gateway = ip("10.99.0.1");
            assertTrue(routes.stream().anyMatch(r -> r.prefixLength() == 0 && r.index() == va
                    && gateway.equals(r.gateway())), routes::toString);
            String shown = sh("ip -n " + ns + " -4 route show");
            assertTrue(shown.contains("default via 10.99.0.1 dev va"), shown);
            assertTrue(shown.contains("10.98.0.0/16 dev va"), shown);

            ErrnoException twice = assertThrows(ErrnoException.class,
                    () -> netlink.addIpv4Address(va, ip("10.99.0.5"), 24));
            assertEquals(17, twice.errno()); // EEXIST
            assertTrue(twice.getMessage().startsWith("add address 10.99.0.5/24 on link " + va), twice.getMessage());
        }
    }

    @Test
    void redirectsIngressWithTc() throws Exception {
        try (RtNetlink netlink = RtNetlink.openIn(netns(ns))) {
            int va = netlink.link("va").orElseThrow().index();
            int vb = netlink.link("vb").orElseThrow().index();
            netlink.addIngressQdisc(va);
            netlink.redirectIngress(va, vb);
        }
        assertTrue(sh("tc -n " + ns + " qdisc show dev va").contains("qdisc ingress ffff:"));
        String filters = sh("tc -n " + ns + " filter show dev va ingress");
        assertTrue(filters.contains("u32"), filters);
        assertTrue(filters.contains("mirred (Egress Redirect to device vb)"), filters);
    }

    @Test
    void movesAndDeletesLinks() throws Exception {
        try (RtNetlink netlink = RtNetlink.openIn(netns(ns))) {
            netlink.moveToNamespace(netlink.link("vb").orElseThrow().index(), netns(other));
            assertTrue(netlink.link("vb").isEmpty());
        }
        try (RtNetlink netlink = RtNetlink.openIn(netns(other))) {
            RtNetlink.Link vb = netlink.link("vb").orElseThrow();
            netlink.deleteLink(vb.index());
            assertTrue(netlink.link("vb").isEmpty());
        }
        assertFalse(sh("ip -n " + ns + " link").contains("va"), "a veth goes with its peer");
    }

    @Test
    void aMissingNamespaceIsNamed() {
        IOException e = assertThrows(IOException.class, () -> RtNetlink.openIn(netns(ns + "-missing")));
        assertTrue(e.getMessage().contains(ns + "-missing"), e.getMessage());
    }

    private static Inet4Address ip(String address) throws Exception {
        return (Inet4Address) InetAddress.getByName(address);
    }

    /** Runs a shell command that must succeed; returns its output. */
    private static String sh(String command) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(command + " failed: " + out);
        }
        return out;
    }

    private static void run(String command) throws Exception {
        new ProcessBuilder("sh", "-c", command).redirectErrorStream(true).start().waitFor(30, TimeUnit.SECONDS);
    }
}
