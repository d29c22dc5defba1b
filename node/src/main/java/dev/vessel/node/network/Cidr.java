package dev.vessel.node.network;

import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** An IPv4 subnet in CIDR notation, its address the network's own (no host bits set). */
public record Cidr(int address, int prefix) {
    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

    /** Refused naming {@code field} unless {@code text} is {@code A.B.C.D/N} with 8 ≤ N ≤ 30 and no host bits. */
    public static Cidr parse(String field, String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw VesselException.invalid(field, Quoted.of(text) + " is not a subnet: give an IPv4 CIDR such as 10.89.5.0/24");
        }
        int address = address(field, text.substring(0, slash));
        int prefix;
        try {
            prefix = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
            prefix = -1;
        }
        if (prefix < 8 || prefix > 30) {
            throw VesselException.invalid(field, Quoted.of(text) + ": the prefix length must be 8 to 30");
        }
        if ((address & ~mask(prefix)) != 0) {
            throw VesselException.invalid(field, Quoted.of(text) + " has host bits set: the network is "
                    + format(address & mask(prefix)) + "/" + prefix);
        }
        return new Cidr(address, prefix);
    }

    private static int address(String field, String text) {
        Matcher m = IPV4.matcher(text);
        if (!m.matches()) {
            throw VesselException.invalid(field, Quoted.of(text) + " is not an IPv4 address");
        }
        int value = 0;
        for (int i = 1; i <= 4; i++) {
            int octet = Integer.parseInt(m.group(i));
            if (octet > 255) {
                throw VesselException.invalid(field, Quoted.of(text) + " is not an IPv4 address");
            }
            value = (value << 8) | octet;
        }
        return value;
    }

    private static int mask(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    private static String format(int a) {
        return (a >>> 24) + "." + ((a >>> 16) & 0xff) + "." + ((a >>> 8) & 0xff) + "." + (a & 0xff);
    }

    public boolean overlaps(Cidr other) {
        int common = mask(Math.min(prefix, other.prefix));
        return (address & common) == (other.address & common);
    }

    /** The subnet's first usable address: the gateway podman picks. */
    public String firstHost() {
        return format(address + 1);
    }

    /** {@code text} when it is a host address of this subnet (not its network or broadcast address), else refused. */
    public String checkHost(String field, String text) {
        int a = address(field, text);
        int broadcast = address | ~mask(prefix);
        if ((a & mask(prefix)) != address || a == address || a == broadcast) {
            throw VesselException.invalid(field, Quoted.of(text) + " is not a host address of " + this);
        }
        return format(a);
    }

    @Override
    public String toString() {
        return format(address) + "/" + prefix;
    }
}
