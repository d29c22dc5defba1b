package dev.vessel.node.cli;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Go's duration syntax, as podman's flags take it: {@code 10m}, {@code 1h30m}, {@code 1.5s}, {@code 500ms}. */
final class GoDurations {
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)");

    private GoDurations() {
    }

    /** The duration {@code value} writes; empty when it is none (a bare number has no unit). */
    static Optional<Duration> parse(String value) {
        Matcher m = PART.matcher(value);
        long nanos = 0;
        int end = 0;
        while (m.find() && m.start() == end) {
            double n = Double.parseDouble(m.group(1));
            nanos += (long) (n * switch (m.group(2)) {
                case "h" -> 3.6e12;
                case "m" -> 6e10;
                case "s" -> 1e9;
                default -> 1e6;
            });
            end = m.end();
        }
        return end == value.length() && end > 0 ? Optional.of(Duration.ofNanos(nanos)) : Optional.empty();
    }
}
