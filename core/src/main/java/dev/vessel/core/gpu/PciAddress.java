package dev.vessel.core.gpu;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A PCI function's address as sysfs names it: {@code domain:bus:device.function}, lower-case hex
 * ({@code 0000:41:00.0}). The one spelling Vessel accepts and writes, so addresses compare as strings.
 */
public record PciAddress(String value) implements Comparable<PciAddress> {
    private static final Pattern SYNTAX = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\\.[0-7]");

    public PciAddress {
        if (!SYNTAX.matcher(value).matches()) {
            throw new IllegalArgumentException("not a PCI address: " + value);
        }
    }

    /** The address, or empty when {@code text} is not spelled {@code dddd:bb:dd.f} in lower-case hex. */
    public static Optional<PciAddress> parse(String text) {
        return SYNTAX.matcher(text).matches() ? Optional.of(new PciAddress(text)) : Optional.empty();
    }

    @Override
    public int compareTo(PciAddress other) {
        return value.compareTo(other.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
