package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code run}'s health check flags, as podman's: the config's {@code health_check}. {@code --health-cmd} is a
 * script run by {@code /bin/sh -c} (CMD-SHELL), or, written as a JSON array, the test itself ({@code ["CMD",
 * "curl", "-f", "http://localhost/"]}); durations as podman writes them ({@code 30s}, {@code 1m30s}, {@code 500ms}).
 * Without any of them the image's check stands (the timing flags come with {@code --health-cmd}: the CLI does not
 * know the image's command); {@code --no-healthcheck} turns it off. The daemon checks every value, naming the field.
 */
final class HealthFlags {
    @Option(names = "--health-cmd", paramLabel = "CMD|JSON", description = "the health check's command: a shell"
            + " script, or a JSON array [\"CMD\", program, args…] (default: the image's)")
    private String command;
    @Option(names = "--health-interval", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "time between checks (default 30s)")
    private Long intervalMs;
    @Option(names = "--health-timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "a check running longer fails (default 30s)")
    private Long timeoutMs;
    @Option(names = "--health-retries", paramLabel = "N", description = "failures in a row that make the container"
            + " unhealthy (default 3)")
    private Integer retries;
    @Option(names = "--health-start-period", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "failures this long after the start do not count while it is starting")
    private Long startPeriodMs;
    @Option(names = "--health-on-failure", paramLabel = "ACTION", description = "none (the default), kill, stop or"
            + " restart: what becoming unhealthy does")
    private String onFailure;
    @Option(names = "--no-healthcheck", description = "no health check, not even the image's")
    private boolean none;

    /** Puts the config's {@code health_check} into {@code body} when any flag was given. */
    void putInto(ObjectNode body, CommandSpec spec) {
        boolean timing = intervalMs != null || timeoutMs != null || retries != null || startPeriodMs != null
                || onFailure != null;
        if (none) {
            if (command != null || timing) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--no-healthcheck: not with the other"
                        + " --health-* flags");
            }
            body.putObject("health_check").putArray("test").add("NONE");
            return;
        }
        if (command == null && !timing) {
            return;
        }
        if (command == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--health-*: give --health-cmd too (the"
                    + " image's check is not known to the CLI)");
        }
        ObjectNode check = body.putObject("health_check");
        if (command.strip().startsWith("[")) {
            try {
                check.set("test", CliJson.JSON.readTree(command));
            } catch (java.io.IOException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--health-cmd: '" + command
                        + "' is not a JSON array of strings");
            }
        } else {
            check.putArray("test").add("CMD-SHELL").add(command);
        }
        if (intervalMs != null) {
            check.put("interval_ms", intervalMs);
        }
        if (timeoutMs != null) {
            check.put("timeout_ms", timeoutMs);
        }
        if (retries != null) {
            check.put("retries", retries);
        }
        if (startPeriodMs != null) {
            check.put("start_period_ms", startPeriodMs);
        }
        if (onFailure != null) {
            check.put("on_failure", onFailure);
        }
    }

    /** A duration as podman writes it ({@link GoDurations}), or {@code 0}; in milliseconds. */
    static final class DurationConverter implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            if (value.equals("0")) {
                return 0L;
            }
            long ms = GoDurations.parse(value).map(Duration::toMillis).orElse(-1L);
            if (ms < 0 || ms > 86_400_000L * 365) {
                throw new TypeConversionException("'" + value + "' is not a duration (30s, 1m30s, 500ms)");
            }
            return ms;
        }
    }
}
