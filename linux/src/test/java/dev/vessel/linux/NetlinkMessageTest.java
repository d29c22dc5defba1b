package dev.vessel.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bytes of rtnetlink requests, checked against the layouts of netlink(7) and rtnetlink(7). */
class NetlinkMessageTest {
    static {
        // The expected bytes below are written for a little-endian host (x86_64, aarch64).
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalStateException("these expectations are written for a little-endian host");
        }
    }

    @Test
    void anAddressRequestIsTheHeaderIfaddrmsgAndTwoAttributes() throws Exception {
        byte[] bytes = RtNetlink.addIpv4AddressRequest(3, ip("10.1.0.5"), 24).encode(7);
        assertEquals(
                // nlmsghdr: length 40, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE, seq 7, port 0
                "28000000" + "1400" + "0506" + "07000000" + "00000000"
                        // ifaddrmsg: AF_INET, /24, no flags, universe scope, index 3
                        + "02180000" + "03000000"
                        // IFA_LOCAL and IFA_ADDRESS: length 8, type, 10.1.0.5 in network order
                        + "08000200" + "0a010005"
                        + "08000100" + "0a010005",
                HexFormat.of().formatHex(bytes));
    }

    @Test
    void aDefaultRouteHasNoDestinationAttribute() throws Exception {
        byte[] bytes = RtNetlink.addIpv4RouteRequest(4, ip("0.0.0.0"), 0, ip("10.1.0.1")).encode(1);
        assertEquals(
                "2c000000" + "1800" + "0506" + "01000000" + "00000000"
                        // rtmsg: AF_INET, /0, src 0, tos 0, main table, proto boot, universe, unicast; flags
                        + "02000000" + "fe030001" + "00000000"
                        + "08000500" + "0a010001" // RTA_GATEWAY
                        + "08000400" + "04000000", // RTA_OIF 4
                HexFormat.of().formatHex(bytes));
    }

    @Test
    void aRouteOnTheLinkIsLinkScopedAndNamesItsDestination() throws Exception {
        byte[] bytes = RtNetlink.addIpv4RouteRequest(2, ip("192.168.5.0"), 24, null).encode(1);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        assertEquals(24, b.get(17)); // dst_len
        assertEquals(RtNetlink.RT_SCOPE_LINK, Byte.toUnsignedInt(b.get(22)));
        Map<Integer, ByteBuffer> a = NetlinkMessage.attributes(b, 28, bytes.length);
        assertArrayEquals(ip("192.168.5.0").getAddress(), NetlinkMessage.bytes(a.get(RtNetlink.RTA_DST)));
        assertEquals(2, a.get(RtNetlink.RTA_OIF).getInt(0));
        assertEquals(null, a.get(RtNetlink.RTA_GATEWAY));
    }

    @Test
    void theIngressQdiscIsAttachedAtFfffWithItsKind() {
        byte[] bytes = RtNetlink.addIngressQdiscRequest(5).encode(2);
        assertEquals(
                "30000000" + "2400" + "0506" + "02000000" + "00000000"
                        // tcmsg: AF_UNSPEC, pads, ifindex 5, handle ffff:0, parent TC_H_INGRESS, info 0
                        + "00000000" + "05000000" + "0000ffff" + "f1ffffff" + "00000000"
                        // TCA_KIND "ingress\0"
                        + "0c000100" + "696e677265737300",
                HexFormat.of().formatHex(bytes));
    }

    /** The nesting of {@code u32 match u8 0 0 action mirred egress redirect dev <to>}, read back. */
    @Test
    void aRedirectFilterNestsTheSelectorAndTheMirredAction() {
        byte[] bytes = RtNetlink.redirectIngressRequest(5, 9).encode(3);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        assertEquals(bytes.length, b.getInt(0));
        assertEquals(RtNetlink.RTM_NEWTFILTER, b.getShort(4));
        assertEquals(5, b.getInt(20)); // ifindex
        assertEquals(0xFFFF0000, b.getInt(28)); // parent: the ingress qdisc
        assertEquals(0x00010300, b.getInt(32)); // priority 1, protocol ETH_P_ALL in network order

        Map<Integer, ByteBuffer> top = NetlinkMessage.attributes(b, 36, bytes.length);
        assertEquals("u32", NetlinkMessage.string(top.get(RtNetlink.TCA_KIND)));
        ByteBuffer options = top.get(RtNetlink.TCA_OPTIONS);
        Map<Integer, ByteBuffer> u32 = NetlinkMessage.attributes(options, 0, options.limit());
        ByteBuffer sel = u32.get(RtNetlink.TCA_U32_SEL);
        assertEquals(32, sel.limit()); // tc_u32_sel (16 bytes) + one tc_u32_key (16 bytes)
        assertEquals(RtNetlink.TC_U32_TERMINAL, sel.get(0));
        assertEquals(1, sel.get(2)); // nkeys
        ByteBuffer actions = u32.get(RtNetlink.TCA_U32_ACT);
        ByteBuffer first = NetlinkMessage.attributes(actions, 0, actions.limit()).get(1);
        Map<Integer, ByteBuffer> action = NetlinkMessage.attributes(first, 0, first.limit());
        assertEquals("mirred", NetlinkMessage.string(action.get(RtNetlink.TCA_ACT_KIND)));
        ByteBuffer mirredOptions = action.get(RtNetlink.TCA_ACT_OPTIONS);
        ByteBuffer parms = NetlinkMessage.attributes(mirredOptions, 0, mirredOptions.limit())
                .get(RtNetlink.TCA_MIRRED_PARMS);
        assertEquals(28, parms.limit());
        assertEquals(RtNetlink.TC_ACT_STOLEN, parms.getInt(8));
        assertEquals(RtNetlink.TCA_EGRESS_REDIR, parms.getInt(20));
        assertEquals(9, parms.getInt(24));
    }

    @Test
    void nestedAttributesCarryTheirLengthAndTheNestedFlag() {
        byte[] bytes = NetlinkMessage.of(1, 0, new byte[0])
                .beginNested(7).attributeInt(2, 42).endNested().encode(0);
        assertEquals("1c000000" + "0100" + "0000" + "00000000" + "00000000"
                + "0c000780" + "08000200" + "2a000000", HexFormat.of().formatHex(bytes));
    }

    @Test
    void stringsArePaddedToFourBytesWithTheirNulInside() {
        byte[] bytes = NetlinkMessage.of(1, 0, new byte[0]).attributeString(3, "eth0").encode(0);
        assertEquals("0900" + "0300" + "6574683000" + "000000",
                HexFormat.of().formatHex(bytes, 16, bytes.length));
    }

    @Test
    void aMessageWithAnOpenNestIsNotEncoded() {
        NetlinkMessage message = NetlinkMessage.of(1, 0, new byte[0]).beginNested(1);
        assertThrows(IllegalStateException.class, () -> message.encode(0));
    }

    @Test
    void parsingStopsAtATruncatedAttribute() {
        ByteBuffer b = ByteBuffer.wrap(HexFormat.of().parseHex("08000100" + "01000000" + "20000200" + "0000"))
                .order(ByteOrder.nativeOrder());
        Map<Integer, ByteBuffer> a = NetlinkMessage.attributes(b, 0, b.limit());
        assertEquals(1, a.size());
        assertEquals(1, a.get(1).getInt(0));
    }

    private static Inet4Address ip(String address) throws Exception {
        return (Inet4Address) InetAddress.getByName(address);
    }
}
