package dev.vessel.node.cli;

import picocli.CommandLine.Option;

/** The {@code -t} of stop and restart: how long a container may take to end after its stop signal. */
final class StopTimeoutOption {
    @Option(names = {"-t", "--time"}, paramLabel = "SECONDS", description = "seconds between the stop signal and"
            + " SIGKILL (default: the container's --stop-timeout, else 10)")
    private Integer seconds;

    /** The API's query string: empty for the container's own timeout. */
    String query() {
        return seconds == null ? "" : "?timeout=" + seconds;
    }
}
