package dev.vessel.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.GuestRoute;
import dev.vessel.linux.RtNetlink;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The guest's network set-up, run against a network namespace the test makes to stand in for a
 * guest (a veth end with a known MAC plays the NIC); {@code ip} checks what the kernel holds.
 */
class GuestNetworkTest {
    private static final String MAC = "02:00:00:00:0b:01";
    private final String ns = "vessel-guestnet-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeEach
    void guest() throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("guest network tests must run as root (network namespaces)");
        }
        sh("ip netns add " + ns + " && ip -n " + ns + " link add nic0 address " + MAC + " type veth peer name peer0"
                + " && ip -n " + ns + " link set peer0 up");
    }

    @AfterEach
    void removeGuest() throws Exception {
        sh("ip netns del " + ns);
    }

    @Test
    void bringsLoAndTheNicFoundByItsMacUpWithAddressesAndRoutes() throws Exception {
        GuestInterface nic = GuestInterface.newBuilder().setMac(MAC.toUpperCase()).setMtu(1400)
                .addAddresses("10.88.7.2/24")
                .addRoutes(GuestRoute.newBuilder().setDestination("0.0.0.0/0").setGateway("10.88.7.1"))
                .addRoutes(GuestRoute.newBuilder().setDestination("192.168.40.0/22"))
                .build();
        configure(List.of(nic));

        String links = sh("ip -n " + ns + " link show");
        assertTrue(links.matches("(?s).*lo: <LOOPBACK,UP.*"), links);
        assertTrue(links.matches("(?s).*nic0@peer0: <[^>]*\\bUP\\b[^>]*> mtu 1400.*"), links);
        assertTrue(sh("ip -n " + ns + " -4 addr show dev nic0").contains("inet 10.88.7.2/24"));
        String routes = sh("ip -n " + ns + " -4 route show");
        assertTrue(routes.contains("default via 10.88.7.1 dev nic0"), routes);
        assertTrue(routes.contains("192.168.40.0/22 dev nic0 scope link"), routes);
        assertTrue(sh("ip netns exec " + ns + " busybox ping -c 1 -W 2 10.88.7.2").contains("1 packets received"));
    }

    @Test
    void anUnknownMacIsNamedAndNothingChanges() throws Exception {
        List<GuestInterface> nics = List.of(
                GuestInterface.newBuilder().setMac(MAC).addAddresses("10.88.7.2/24").build(),
                GuestInterface.newBuilder().setMac("02:00:00:00:0b:99").addAddresses("10.88.8.2/24").build());
        VesselException e = assertThrows(VesselException.class, () -> configure(nics));
        assertEquals("interfaces[1].mac", e.field().orElseThrow());
        assertUntouched();
    }

    @Test
    void badAddressesAndRoutesAreNamedAndNothingChanges() throws Exception {
        for (var bad : List.of(
                new Object[] {GuestInterface.newBuilder().setMac(MAC).addAddresses("10.88.7.2"), "interfaces[0].addresses[0]"},
                new Object[] {GuestInterface.newBuilder().setMac(MAC).addAddresses("10.88.7.256/24"), "interfaces[0].addresses[0]"},
                new Object[] {GuestInterface.newBuilder().setMac(MAC).addAddresses("10.88.7.2/33"), "interfaces[0].addresses[0]"},
                new Object[] {GuestInterface.newBuilder().setMac(MAC).addAddresses("example.com/24"), "interfaces[0].addresses[0]"},
                new Object[] {GuestInterface.newBuilder().setMac(MAC).addRoutes(GuestRoute.newBuilder()
                        .setDestination("0.0.0.0/0").setGateway("gw")), "interfaces[0].routes[0].gateway"},
                new Object[] {GuestInterface.newBuilder().setMac(MAC).setMtu(20), "interfaces[0].mtu"})) {
            GuestInterface nic = ((GuestInterface.Builder) bad[0]).build();
            VesselException e = assertThrows(VesselException.class, () -> configure(List.of(nic)), nic.toString());
            assertEquals(bad[1], e.field().orElseThrow());
        }
        assertUntouched();
    }

    @Test
    void anUnreachableGatewayIsNamed() {
        GuestInterface nic = GuestInterface.newBuilder().setMac(MAC).addAddresses("10.88.7.2/24")
                .addRoutes(GuestRoute.newBuilder().setDestination("0.0.0.0/0").setGateway("10.1.1.1")).build();
        VesselException e = assertThrows(VesselException.class, () -> configure(List.of(nic)));
        assertEquals("interfaces[0].routes[0]", e.field().orElseThrow());
    }

    private void configure(List<GuestInterface> interfaces) throws Exception {
        try (RtNetlink netlink = RtNetlink.openIn(Path.of("/run/netns", ns))) {
            GuestNetwork.configure(netlink, interfaces);
        }
    }

    private void assertUntouched() throws Exception {
        String links = sh("ip -n " + ns + " link show");
        assertTrue(links.matches("(?s).*nic0@peer0: <BROADCAST,MULTICAST> .*"), links);
        assertTrue(links.matches("(?s).*lo: <LOOPBACK> .*"), links);
        assertEquals("", sh("ip -n " + ns + " -4 addr show").strip());
    }

    private static String sh(String command) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(command + " failed: " + out);
        }
        return out;
    }
}
