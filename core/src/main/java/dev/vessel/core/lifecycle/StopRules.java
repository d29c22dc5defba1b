package dev.vessel.core.lifecycle;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.linux.Signals;
import java.time.Duration;

/** How a container is stopped: which signal first, and how long before SIGKILL (podman's and docker's defaults). */
public final class StopRules {
    public static final int SIGTERM = 15;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    /** A longer wait is a typo (minutes for seconds), and would hold a request open for hours. */
    public static final int MAX_TIMEOUT_SECONDS = 3600;

    private StopRules() {
    }

    /** The config's stop signal (the validator checked it), SIGTERM when it names none. */
    public static int signal(ContainerConfig config) {
        return config.getStopSignal().isEmpty() ? SIGTERM : Signals.parse(config.getStopSignal()).orElse(SIGTERM);
    }

    /** The config's stop timeout, the default when it gives none. */
    public static Duration timeout(ContainerConfig config) {
        return config.getStopTimeoutSeconds() > 0 ? Duration.ofSeconds(config.getStopTimeoutSeconds()) : DEFAULT_TIMEOUT;
    }
}
