package dev.vessel.node.api;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.lifecycle.StopRules;
import java.time.Duration;
import java.util.Optional;

/** The {@code ?timeout=S} of a stop, restart or reboot: whole seconds, 0 to an hour. */
final class StopTimeout {
    private StopTimeout() {
    }

    /** The request's timeout; empty when it gives none. */
    static Optional<Duration> of(Exchange ex) {
        return ex.query("timeout").map(StopTimeout::seconds);
    }

    private static Duration seconds(String text) {
        try {
            long s = Long.parseLong(text);
            if (s >= 0 && s <= StopRules.MAX_TIMEOUT_SECONDS) {
                return Duration.ofSeconds(s);
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw VesselException.invalid("timeout", "must be a whole number of seconds from 0 to "
                + StopRules.MAX_TIMEOUT_SECONDS);
    }
}
