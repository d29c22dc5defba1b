package dev.vessel.guest;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.GuestRoute;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.RtNetlink;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Brings up the guest's network before its task starts, as the host's network isolators set it up
 * (see LaunchTask.interfaces): {@code lo}, then each NIC, found by its MAC, with its MTU, addresses
 * and routes. The task shares the guest's network namespace. Everything asked is checked, and every
 * NIC found, before anything changes; an error names the request's field.
 */
final class GuestNetwork {
    private static final Pattern DOTTED_QUAD = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** An IPv4 address or network with its prefix length. */
    record Cidr(Inet4Address address, int prefixLength) {
    }

    /** One NIC as it will be configured, resolved and checked. */
    private record Plan(String field, RtNetlink.Link link, int mtu, List<Cidr> addresses, List<Route> routes) {
    }

    private record Route(String field, Cidr destination, Inet4Address gateway) {
    }

    private GuestNetwork() {
    }

    /** Configures {@code interfaces} through {@code netlink}, which acts in the guest's namespace. */
    static void configure(RtNetlink netlink, List<GuestInterface> interfaces) throws ErrnoException {
        List<RtNetlink.Link> links = netlink.links();
        List<Plan> plans = new ArrayList<>();
        for (int i = 0; i < interfaces.size(); i++) {
            plans.add(plan("interfaces[" + i + "]", interfaces.get(i), links));
        }
        for (RtNetlink.Link link : links) {
            if (link.loopback()) {
                netlink.setUp(link.index());
            }
        }
        for (Plan plan : plans) {
            int index = plan.link().index();
            if (plan.mtu() > 0 && plan.mtu() != plan.link().mtu()) {
                netlink.setMtu(index, plan.mtu());
            }
            netlink.setUp(index);
            for (Cidr address : plan.addresses()) {
                netlink.addIpv4Address(index, address.address(), address.prefixLength());
            }
            for (Route route : plan.routes()) {
                try {
                    netlink.addIpv4Route(index, route.destination().address(), route.destination().prefixLength(),
                            route.gateway());
                } catch (ErrnoException e) {
                    // e.g. a gateway outside every address's network: the request's to fix
                    throw VesselException.invalid(route.field(), "cannot be added: " + e.getMessage());
                }
            }
        }
    }

    private static Plan plan(String field, GuestInterface nic, List<RtNetlink.Link> links) {
        String mac = nic.getMac().toLowerCase(Locale.ROOT);
        RtNetlink.Link link = links.stream().filter(l -> !mac.isEmpty() && l.mac().equals(mac)).findFirst()
                .orElseThrow(() -> new VesselException(ErrorCode.INVALID_ARGUMENT, field + ".mac",
                        "this guest has no network interface with the MAC address '" + nic.getMac() + "'"));
        if (nic.getMtu() < 0 || (nic.getMtu() > 0 && nic.getMtu() < 68)) {
            throw VesselException.invalid(field + ".mtu", nic.getMtu() + " is not an MTU (68 or more, 0: leave it)");
        }
        List<Cidr> addresses = new ArrayList<>();
        for (int j = 0; j < nic.getAddressesCount(); j++) {
            addresses.add(cidr(field + ".addresses[" + j + "]", nic.getAddresses(j)));
        }
        List<Route> routes = new ArrayList<>();
        for (int j = 0; j < nic.getRoutesCount(); j++) {
            GuestRoute route = nic.getRoutes(j);
            String at = field + ".routes[" + j + "]";
            Inet4Address gateway = route.getGateway().isEmpty() ? null : ipv4(at + ".gateway", route.getGateway());
            routes.add(new Route(at, cidr(at + ".destination", route.getDestination()), gateway));
        }
        return new Plan(field, link, nic.getMtu(), addresses, routes);
    }

    /** "10.88.7.2/24": a dotted quad and a prefix length from 0 to 32. */
    static Cidr cidr(String field, String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw VesselException.invalid(field, "'" + text + "' is not an IPv4 CIDR such as 10.88.7.2/24");
        }
        Inet4Address address = ipv4(field, text.substring(0, slash));
        String prefix = text.substring(slash + 1);
        if (!prefix.matches("\\d{1,2}") || Integer.parseInt(prefix) > 32) {
            throw VesselException.invalid(field, "'" + text + "' has no prefix length from 0 to 32");
        }
        return new Cidr(address, Integer.parseInt(prefix));
    }

    private static Inet4Address ipv4(String field, String text) {
        // parsed here, octet by octet: InetAddress would look up anything that is not a literal
        if (DOTTED_QUAD.matcher(text).matches()) {
            String[] octets = text.split("\\.");
            byte[] bytes = new byte[4];
            boolean valid = true;
            for (int i = 0; i < 4; i++) {
                int octet = Integer.parseInt(octets[i]);
                valid &= octet <= 255;
                bytes[i] = (byte) octet;
            }
            if (valid) {
                try {
                    return (Inet4Address) InetAddress.getByAddress(bytes);
                } catch (UnknownHostException e) {
                    throw new IllegalStateException("four bytes are an IPv4 address", e);
                }
            }
        }
        throw VesselException.invalid(field, "'" + text + "' is not an IPv4 address");
    }
}
