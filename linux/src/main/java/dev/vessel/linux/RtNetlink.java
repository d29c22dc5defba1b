package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A small rtnetlink (NETLINK_ROUTE) client: reads links, IPv4 addresses and routes, and makes the few
 * changes Vessel needs (links up, MTU, addresses, routes, moving a link to another namespace, an
 * ingress qdisc with a redirecting filter), as {@code ip} and {@code tc} would, without running them.
 *
 * <p>A netlink socket acts in the network namespace it was created in, whichever thread uses it
 * later: {@link #openIn} creates it inside a namespace on a short-lived platform thread that enters
 * the namespace and leaves it again, so no shared (or virtual) thread ever changes namespace.
 * One socket, one user at a time: requests are sent and answered in turn.
 *
 * <p>Requests ask for an acknowledgement; a negative one becomes an {@link ErrnoException} that
 * names the request, e.g. "add address 10.1.0.5/24 on link 3: File exists".
 */
public final class RtNetlink implements AutoCloseable {
    // <linux/netlink.h>
    static final int AF_NETLINK = 16;
    static final int NETLINK_ROUTE = 0;
    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int NLM_F_REQUEST = 0x1;
    static final int NLM_F_ACK = 0x4;
    static final int NLM_F_DUMP = 0x300;
    static final int NLM_F_EXCL = 0x200;
    static final int NLM_F_CREATE = 0x400;
    // <linux/rtnetlink.h>
    static final int RTM_NEWLINK = 16;
    static final int RTM_DELLINK = 17;
    static final int RTM_GETLINK = 18;
    static final int RTM_NEWADDR = 20;
    static final int RTM_GETADDR = 22;
    static final int RTM_NEWROUTE = 24;
    static final int RTM_GETROUTE = 26;
    static final int RTM_NEWQDISC = 36;
    static final int RTM_DELQDISC = 37;
    static final int RTM_NEWTFILTER = 44;
    static final int IFLA_ADDRESS = 1;
    static final int IFLA_IFNAME = 3;
    static final int IFLA_MTU = 4;
    static final int IFLA_STATS64 = 23;
    static final int IFLA_NET_NS_FD = 28;
    static final int IFA_ADDRESS = 1;
    static final int IFA_LOCAL = 2;
    static final int RTA_DST = 1;
    static final int RTA_OIF = 4;
    static final int RTA_GATEWAY = 5;
    static final int RTA_TABLE = 15;
    static final int RT_TABLE_MAIN = 254;
    static final int RTPROT_BOOT = 3;
    static final int RT_SCOPE_UNIVERSE = 0;
    static final int RT_SCOPE_LINK = 253;
    static final int RTN_UNICAST = 1;
    static final int IFF_UP = 0x1;
    static final int ARPHRD_LOOPBACK = 772;
    static final int AF_UNSPEC = 0;
    static final int AF_INET = 2;
    // <linux/pkt_sched.h>, <linux/pkt_cls.h>, <linux/tc_act/tc_mirred.h>
    static final int TCA_KIND = 1;
    static final int TCA_OPTIONS = 2;
    static final int TC_H_INGRESS = 0xFFFFFFF1;
    static final int INGRESS_HANDLE = 0xFFFF0000;
    static final int TCA_U32_SEL = 5;
    static final int TCA_U32_ACT = 7;
    static final int TC_U32_TERMINAL = 1;
    static final int TCA_ACT_KIND = 1;
    static final int TCA_ACT_OPTIONS = 2;
    static final int TCA_MIRRED_PARMS = 2;
    static final int TC_ACT_STOLEN = 4;
    static final int TCA_EGRESS_REDIR = 1;
    static final short ETH_P_ALL = 0x0003;

    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int CLONE_NEWNET = 0x40000000;
    private static final int RECEIVE_BUFFER_BYTES = 64 * 1024;
    private static final MethodHandle SOCKET = ErrnoCalls.downcall("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SENDTO = ErrnoCalls.downcall("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECV = ErrnoCalls.downcall("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SETNS = ErrnoCalls.downcall("setns",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    /**
     * A network interface. {@code mac} is lower-case colon-separated ("" when it has none); {@code rxBytes} and
     * {@code txBytes} are what it has received and sent (its {@code rtnl_link_stats64}; 0 when not reported).
     */
    public record Link(int index, String name, String mac, int mtu, boolean up, boolean loopback, long rxBytes,
            long txBytes) {
    }

    /** An IPv4 address of a link, with its prefix length. */
    public record Address(int index, Inet4Address address, int prefixLength) {
        @Override
        public String toString() {
            return address.getHostAddress() + "/" + prefixLength;
        }
    }

    /** An IPv4 route of the main table; {@code gateway} is null for a route on the link itself. */
    public record Route(int index, Inet4Address destination, int prefixLength, Inet4Address gateway, int protocol,
            int scope) {
    }

    private final Arena arena = Arena.ofShared();
    private final int fd;
    private final MemorySegment receiveBuffer;
    private int sequence;
    private boolean closed;

    private RtNetlink(int fd) {
        this.fd = fd;
        this.receiveBuffer = arena.allocate(RECEIVE_BUFFER_BYTES);
    }

    /** A socket for the calling thread's network namespace. */
    public static RtNetlink open() throws ErrnoException {
        int fd;
        int errno;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(call);
            fd = (int) SOCKET.invokeExact(state, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
            errno = ErrnoCalls.errno(state);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        if (fd < 0) {
            throw new ErrnoException("open a NETLINK_ROUTE socket", errno);
        }
        return new RtNetlink(fd);
    }

    /**
     * A socket for the network namespace bound at (or linked as) {@code netns}, e.g. a netns file or
     * {@code /proc/<pid>/ns/net}. Made on a platform thread of its own that enters the namespace and
     * returns to its original one before it ends.
     */
    public static RtNetlink openIn(Path netns) throws IOException {
        return OwnThread.call("netlink-in-netns", () -> openOnThisThreadIn(netns));
    }

    private static RtNetlink openOnThisThreadIn(Path netns) throws IOException {
        int original = LibC.open("/proc/thread-self/ns/net", LibC.O_RDONLY | LibC.O_CLOEXEC);
        try {
            int target = LibC.open(netns.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
            try {
                setns(target, "enter the network namespace " + netns);
            } finally {
                LibC.close(target);
            }
            // On any failure from here on this thread may stay in the namespace: it is this call's own
            // and ends right after, so no other work ever runs in the wrong namespace.
            RtNetlink socket = open();
            try {
                setns(original, "return to the original network namespace");
            } catch (ErrnoException e) {
                socket.close();
                throw e;
            }
            return socket;
        } finally {
            LibC.close(original);
        }
    }

    private static void setns(int namespaceFd, String what) throws ErrnoException {
        int rc;
        int errno;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(call);
            rc = (int) SETNS.invokeExact(state, namespaceFd, CLONE_NEWNET);
            errno = ErrnoCalls.errno(state);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        if (rc != 0) {
            throw new ErrnoException(what, errno);
        }
    }

    // ---- queries

    public List<Link> links() throws ErrnoException {
        List<Link> links = new ArrayList<>();
        for (ByteBuffer reply : dump(NetlinkMessage.of(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP,
                ifinfomsg(0, 0, 0)), "list links")) {
            int type = Short.toUnsignedInt(reply.getShort(NetlinkMessage.HEADER_BYTES + 2));
            int index = reply.getInt(NetlinkMessage.HEADER_BYTES + 4);
            int flags = reply.getInt(NetlinkMessage.HEADER_BYTES + 8);
            Map<Integer, ByteBuffer> a = NetlinkMessage.attributes(reply, NetlinkMessage.HEADER_BYTES + 16, reply.limit());
            String mac = a.containsKey(IFLA_ADDRESS)
                    ? HexFormat.ofDelimiter(":").formatHex(NetlinkMessage.bytes(a.get(IFLA_ADDRESS))) : "";
            links.add(new Link(index, a.containsKey(IFLA_IFNAME) ? NetlinkMessage.string(a.get(IFLA_IFNAME)) : "",
                    mac, a.containsKey(IFLA_MTU) ? a.get(IFLA_MTU).getInt(0) : 0, (flags & IFF_UP) != 0,
                    type == ARPHRD_LOOPBACK, stat(a, 16), stat(a, 24)));
        }
        return links;
    }

    /** A counter of {@code rtnl_link_stats64} (u64s: rx_packets, tx_packets, rx_bytes at 16, tx_bytes at 24). */
    private static long stat(Map<Integer, ByteBuffer> attributes, int offset) {
        ByteBuffer stats = attributes.get(IFLA_STATS64);
        return stats == null || stats.limit() < offset + 8 ? 0 : stats.getLong(offset);
    }

    public Optional<Link> link(String name) throws ErrnoException {
        return links().stream().filter(l -> l.name().equals(name)).findFirst();
    }

    public List<Address> ipv4Addresses() throws ErrnoException {
        List<Address> addresses = new ArrayList<>();
        for (ByteBuffer reply : dump(NetlinkMessage.of(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP,
                ifaddrmsg(AF_INET, 0, 0, 0)), "list addresses")) {
            int prefix = Byte.toUnsignedInt(reply.get(NetlinkMessage.HEADER_BYTES + 1));
            int index = reply.getInt(NetlinkMessage.HEADER_BYTES + 4);
            Map<Integer, ByteBuffer> a = NetlinkMessage.attributes(reply, NetlinkMessage.HEADER_BYTES + 8, reply.limit());
            ByteBuffer local = a.getOrDefault(IFA_LOCAL, a.get(IFA_ADDRESS));
            if (local != null) {
                addresses.add(new Address(index, ipv4(local), prefix));
            }
        }
        return addresses;
    }

    /** The routes of the main table (IPv4). */
    public List<Route> ipv4Routes() throws ErrnoException {
        List<Route> routes = new ArrayList<>();
        for (ByteBuffer reply : dump(NetlinkMessage.of(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP,
                rtmsg(AF_INET, 0, 0, 0, 0, 0)), "list routes")) {
            int at = NetlinkMessage.HEADER_BYTES;
            int prefix = Byte.toUnsignedInt(reply.get(at + 1));
            int table = Byte.toUnsignedInt(reply.get(at + 4));
            int protocol = Byte.toUnsignedInt(reply.get(at + 5));
            int scope = Byte.toUnsignedInt(reply.get(at + 6));
            int type = Byte.toUnsignedInt(reply.get(at + 7));
            Map<Integer, ByteBuffer> a = NetlinkMessage.attributes(reply, at + 12, reply.limit());
            if (a.containsKey(RTA_TABLE)) {
                table = a.get(RTA_TABLE).getInt(0);
            }
            if (table != RT_TABLE_MAIN || type != RTN_UNICAST) {
                continue;
            }
            Inet4Address destination = a.containsKey(RTA_DST) ? ipv4(a.get(RTA_DST)) : ipv4(new byte[4]);
            routes.add(new Route(a.containsKey(RTA_OIF) ? a.get(RTA_OIF).getInt(0) : 0, destination, prefix,
                    a.containsKey(RTA_GATEWAY) ? ipv4(a.get(RTA_GATEWAY)) : null, protocol, scope));
        }
        return routes;
    }

    // ---- changes

    public void setUp(int index) throws ErrnoException {
        request(NetlinkMessage.of(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, ifinfomsg(index, IFF_UP, IFF_UP)),
                "set link " + index + " up");
    }

    public void setMtu(int index, int mtu) throws ErrnoException {
        request(NetlinkMessage.of(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, ifinfomsg(index, 0, 0))
                .attributeInt(IFLA_MTU, mtu), "set the MTU of link " + index + " to " + mtu);
    }

    /** Moves a link into the network namespace at {@code netns}; it arrives there down. */
    public void moveToNamespace(int index, Path netns) throws ErrnoException {
        int nsFd = LibC.open(netns.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
        try {
            request(moveToNamespaceRequest(index, nsFd), "move link " + index + " to the network namespace " + netns);
        } finally {
            LibC.close(nsFd);
        }
    }

    static NetlinkMessage moveToNamespaceRequest(int index, int namespaceFd) {
        return NetlinkMessage.of(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, ifinfomsg(index, 0, 0))
                .attributeInt(IFLA_NET_NS_FD, namespaceFd);
    }

    public void deleteLink(int index) throws ErrnoException {
        request(NetlinkMessage.of(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, ifinfomsg(index, 0, 0)),
                "delete link " + index);
    }

    public void addIpv4Address(int index, Inet4Address address, int prefixLength) throws ErrnoException {
        request(addIpv4AddressRequest(index, address, prefixLength),
                "add address " + address.getHostAddress() + "/" + prefixLength + " on link " + index);
    }

    static NetlinkMessage addIpv4AddressRequest(int index, Inet4Address address, int prefixLength) {
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS the peer's, the same on a broadcast link.
        return NetlinkMessage.of(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                        ifaddrmsg(AF_INET, prefixLength, RT_SCOPE_UNIVERSE, index))
                .attribute(IFA_LOCAL, address.getAddress())
                .attribute(IFA_ADDRESS, address.getAddress());
    }

    /** A route to {@code destination/prefixLength} out of link {@code index}, through {@code gateway} if not null. */
    public void addIpv4Route(int index, Inet4Address destination, int prefixLength, Inet4Address gateway)
            throws ErrnoException {
        request(addIpv4RouteRequest(index, destination, prefixLength, gateway), "add route "
                + destination.getHostAddress() + "/" + prefixLength
                + (gateway == null ? "" : " via " + gateway.getHostAddress()) + " on link " + index);
    }

    static NetlinkMessage addIpv4RouteRequest(int index, Inet4Address destination, int prefixLength,
            Inet4Address gateway) {
        int scope = gateway == null ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
        NetlinkMessage message = NetlinkMessage.of(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                rtmsg(AF_INET, prefixLength, RT_TABLE_MAIN, RTPROT_BOOT, scope, RTN_UNICAST));
        if (prefixLength > 0) {
            message.attribute(RTA_DST, destination.getAddress());
        }
        if (gateway != null) {
            message.attribute(RTA_GATEWAY, gateway.getAddress());
        }
        return message.attributeInt(RTA_OIF, index);
    }

    /** {@code tc qdisc add dev <index> ingress}. */
    public void addIngressQdisc(int index) throws ErrnoException {
        request(addIngressQdiscRequest(index), "add an ingress qdisc to link " + index);
    }

    static NetlinkMessage addIngressQdiscRequest(int index) {
        return NetlinkMessage.of(RTM_NEWQDISC, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                tcmsg(index, INGRESS_HANDLE, TC_H_INGRESS, 0)).attributeString(TCA_KIND, "ingress");
    }

    /** {@code tc qdisc del dev <index> ingress}, with the filters on it. */
    public void deleteIngressQdisc(int index) throws ErrnoException {
        request(NetlinkMessage.of(RTM_DELQDISC, NLM_F_REQUEST | NLM_F_ACK, tcmsg(index, INGRESS_HANDLE, TC_H_INGRESS, 0)),
                "delete the ingress qdisc of link " + index);
    }

    /**
     * Every frame arriving on link {@code from} leaves by link {@code to}, unseen by this namespace's
     * stack: {@code tc filter add dev <from> parent ffff: protocol all u32 match u8 0 0 action mirred
     * egress redirect dev <to>}. Link {@code from} needs its ingress qdisc first.
     */
    public void redirectIngress(int from, int to) throws ErrnoException {
        request(redirectIngressRequest(from, to), "redirect the ingress of link " + from + " to link " + to);
    }

    static NetlinkMessage redirectIngressRequest(int from, int to) {
        int priority = 1;
        // tcm_info: the priority in the upper 16 bits, the protocol (network order) in the lower 16.
        int info = (priority << 16) | Short.toUnsignedInt(Short.reverseBytes(ETH_P_ALL));
        return NetlinkMessage.of(RTM_NEWTFILTER, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                        tcmsg(from, 0, INGRESS_HANDLE, info))
                .attributeString(TCA_KIND, "u32")
                .beginNested(TCA_OPTIONS)
                .attribute(TCA_U32_SEL, matchEverySelector())
                .beginNested(TCA_U32_ACT)
                .beginNested(1) // the first action of the list
                .attributeString(TCA_ACT_KIND, "mirred")
                .beginNested(TCA_ACT_OPTIONS)
                .attribute(TCA_MIRRED_PARMS, mirredRedirect(to))
                .endNested()
                .endNested()
                .endNested()
                .endNested();
    }

    /** struct tc_u32_sel with one key that matches everything (mask 0), terminal: its action decides. */
    private static byte[] matchEverySelector() {
        ByteBuffer sel = ByteBuffer.allocate(16 + 16).order(ByteOrder.nativeOrder());
        sel.put((byte) TC_U32_TERMINAL).put((byte) 0).put((byte) 1 /* nkeys */).put((byte) 0);
        // offmask, off, offoff, hoff, hmask, then the key (mask, val, off, offmask): all zero
        return sel.array();
    }

    /** struct tc_mirred: tc_gen (index, capab, action, refcnt, bindcnt), eaction, ifindex. */
    private static byte[] mirredRedirect(int to) {
        return ByteBuffer.allocate(28).order(ByteOrder.nativeOrder())
                .putInt(0).putInt(0).putInt(TC_ACT_STOLEN).putInt(0).putInt(0)
                .putInt(TCA_EGRESS_REDIR).putInt(to).array();
    }

    // ---- fixed headers

    /** struct ifinfomsg: family, pad, type, index, flags, change. */
    static byte[] ifinfomsg(int index, int flags, int change) {
        return ByteBuffer.allocate(16).order(ByteOrder.nativeOrder())
                .put((byte) AF_UNSPEC).put((byte) 0).putShort((short) 0)
                .putInt(index).putInt(flags).putInt(change).array();
    }

    /** struct ifaddrmsg: family, prefixlen, flags, scope, index. */
    static byte[] ifaddrmsg(int family, int prefixLength, int scope, int index) {
        return ByteBuffer.allocate(8).order(ByteOrder.nativeOrder())
                .put((byte) family).put((byte) prefixLength).put((byte) 0).put((byte) scope).putInt(index).array();
    }

    /** struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags. */
    static byte[] rtmsg(int family, int prefixLength, int table, int protocol, int scope, int type) {
        return ByteBuffer.allocate(12).order(ByteOrder.nativeOrder())
                .put((byte) family).put((byte) prefixLength).put((byte) 0).put((byte) 0)
                .put((byte) table).put((byte) protocol).put((byte) scope).put((byte) type).putInt(0).array();
    }

    /** struct tcmsg: family, pads, ifindex, handle, parent, info. */
    static byte[] tcmsg(int index, int handle, int parent, int info) {
        return ByteBuffer.allocate(20).order(ByteOrder.nativeOrder())
                .put((byte) AF_UNSPEC).put((byte) 0).putShort((short) 0)
                .putInt(index).putInt(handle).putInt(parent).putInt(info).array();
    }

    // ---- the socket

    /** Sends a request that asks for an acknowledgement and waits for it. */
    private void request(NetlinkMessage message, String what) throws ErrnoException {
        int seq = send(message);
        while (true) {
            for (ByteBuffer reply : receive()) {
                if (reply.getInt(8) != seq) {
                    continue; // an answer to an earlier, abandoned request
                }
                if (Short.toUnsignedInt(reply.getShort(4)) == NLMSG_ERROR) {
                    int error = reply.getInt(NetlinkMessage.HEADER_BYTES);
                    if (error != 0) {
                        throw new ErrnoException(what, -error);
                    }
                    return;
                }
            }
        }
    }

    /** Sends a dump request and collects every message up to NLMSG_DONE. */
    private List<ByteBuffer> dump(NetlinkMessage message, String what) throws ErrnoException {
        int seq = send(message);
        List<ByteBuffer> replies = new ArrayList<>();
        while (true) {
            for (ByteBuffer reply : receive()) {
                if (reply.getInt(8) != seq) {
                    continue;
                }
                int type = Short.toUnsignedInt(reply.getShort(4));
                if (type == NLMSG_DONE) {
                    return replies;
                }
                if (type == NLMSG_ERROR) {
                    int error = reply.getInt(NetlinkMessage.HEADER_BYTES);
                    throw new ErrnoException(what, error == 0 ? 5 /* EIO */ : -error);
                }
                replies.add(reply);
            }
        }
    }

    private int send(NetlinkMessage message) throws ErrnoException {
        if (closed) {
            throw new IllegalStateException("the netlink socket is closed");
        }
        int seq = ++sequence;
        byte[] bytes = message.encode(seq);
        long sent;
        int errno;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(call);
            MemorySegment data = call.allocateFrom(JAVA_BYTE, bytes);
            MemorySegment kernel = call.allocate(12, 4); // struct sockaddr_nl: family, pad, pid 0, groups 0
            kernel.set(JAVA_SHORT, 0, (short) AF_NETLINK);
            sent = (long) SENDTO.invokeExact(state, fd, data, (long) bytes.length, 0, kernel, 12);
            errno = ErrnoCalls.errno(state);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        if (sent != bytes.length) {
            throw new ErrnoException("send a netlink request", sent < 0 ? errno : 5 /* EIO */);
        }
        return seq;
    }

    /** One datagram from the kernel, split into its messages. */
    private List<ByteBuffer> receive() throws ErrnoException {
        long received;
        int errno;
        while (true) {
            try (Arena call = Arena.ofConfined()) {
                MemorySegment state = ErrnoCalls.newErrnoState(call);
                received = (long) RECV.invokeExact(state, fd, receiveBuffer, (long) RECEIVE_BUFFER_BYTES, 0);
                errno = ErrnoCalls.errno(state);
            } catch (Throwable t) {
                throw ErrnoCalls.rethrow(t);
            }
            if (received >= 0 || errno != LibC.EINTR) {
                break;
            }
        }
        if (received < 0) {
            throw new ErrnoException("receive a netlink reply", errno);
        }
        ByteBuffer all = receiveBuffer.asSlice(0, received).asByteBuffer().order(ByteOrder.nativeOrder());
        List<ByteBuffer> messages = new ArrayList<>();
        int at = 0;
        while (at + NetlinkMessage.HEADER_BYTES <= received) {
            int length = all.getInt(at);
            if (length < NetlinkMessage.HEADER_BYTES || at + length > received) {
                break;
            }
            // copied: the receive buffer is reused by the next call
            ByteBuffer copy = ByteBuffer.allocate(length).order(ByteOrder.nativeOrder());
            copy.put(0, all, at, length);
            messages.add(copy);
            at += NetlinkMessage.align(length);
        }
        return messages;
    }

    private static Inet4Address ipv4(ByteBuffer value) {
        return ipv4(NetlinkMessage.bytes(value));
    }

    private static Inet4Address ipv4(byte[] address) {
        try {
            return (Inet4Address) InetAddress.getByAddress(address);
        } catch (UnknownHostException | ClassCastException e) {
            throw new IllegalArgumentException("not an IPv4 address: " + HexFormat.of().formatHex(address), e);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            LibC.close(fd);
            arena.close();
        }
    }
}
