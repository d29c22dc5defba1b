package dev.vessel.core.containerizer;

import com.google.protobuf.Timestamp;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.HealthCheck;
import dev.vessel.core.model.HealthLogEntry;
import dev.vessel.core.model.HealthStatus;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs each running container's health check (its config's {@code health_check}, which a container made from an
 * image with a Healthcheck has from it): the check's command is exec'd into the container every interval, and
 * what it finds is the container's {@link HealthStatus} — "starting" until the first pass, "healthy" after a pass,
 * "unhealthy" after {@code retries} failures in a row (while it is starting, failures within the start period are
 * not counted), as podman and Docker decide. A change of status is reported ({@link Reaction#changed}); becoming
 * unhealthy also triggers the check's {@code on_failure} ({@link Reaction#unhealthy}). The findings are kept in
 * memory for the run: a restarted daemon starts the container's checks again from "starting".
 */
final class HealthChecks {
    private static final System.Logger LOG = System.getLogger(HealthChecks.class.getName());
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    static final int DEFAULT_RETRIES = 3;
    /** Runs kept in a status, as Docker keeps. */
    static final int LOG_ENTRIES = 5;
    static final String STARTING = "starting", HEALTHY = "healthy", UNHEALTHY = "unhealthy";
    /** What a run's log keeps of its output. */
    static final int OUTPUT_BYTES = 4096;

    /** One run: its exit code (-1: it ran past its timeout or could not run) and what it printed. */
    record Outcome(Timestamp start, Timestamp end, int exitCode, String output) {
    }

    /** Runs a check's command in the container; empty when the container does not run it now (not RUNNING). */
    interface Runner {
        Optional<Outcome> run(String containerId, ExecConfig command, Duration timeout);
    }

    /** What the containerizer does with the findings. */
    interface Reaction {
        /** The status changed to {@code status}. */
        void changed(String containerId, String status);

        /** The container just became unhealthy and its check's {@code on_failure} is not "none". */
        void unhealthy(String containerId, String onFailure);
    }

    private final Runner runner;
    private final Reaction reaction;
    /** Its one thread only hands each run to a virtual thread. */
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("health-checks").factory());
    private final Map<String, Watch> watches = new ConcurrentHashMap<>();

    /** One run of a container: its check, when it started, its findings so far (guarded by this). */
    private final class Watch {
        final String containerId;
        final HealthCheck check;
        final long startedNanos = System.nanoTime();
        final HealthStatus.Builder status = HealthStatus.newBuilder().setStatus(STARTING);
        /** Held for the whole of a run. */
        final Object runs = new Object();
        ScheduledFuture<?> next;
        boolean stopped;

        Watch(String containerId, HealthCheck check) {
            this.containerId = containerId;
            this.check = check;
        }

        synchronized void scheduleNext() {
            if (!stopped) {
                next = timer.schedule(() -> Thread.ofVirtual().name("health-" + containerId).start(this::runScheduled),
                        interval(check).toMillis(), TimeUnit.MILLISECONDS);
            }
        }

        void runScheduled() {
            try {
                runOnce();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "the health check of container ''{0}'' could not run: {1}", containerId,
                        e.getMessage());
            } finally {
                scheduleNext();
            }
        }

        /**
         * One run, its finding applied. Runs are serialized (one asked for never overlaps one scheduled); the
         * status is guarded by this alone, so that reading it never waits for a run.
         */
        HealthStatus runOnce() {
            synchronized (runs) {
                synchronized (this) {
                    if (stopped) {
                        return status.build();
                    }
                }
                Optional<Outcome> outcome = runner.run(containerId, command(check), timeout(check));
                String before;
                String after;
                HealthStatus found;
                synchronized (this) {
                    if (outcome.isEmpty() || stopped) {
                        return status.build();
                    }
                    before = status.getStatus();
                    apply(outcome.get());
                    after = status.getStatus();
                    found = status.build();
                }
                if (!before.equals(after)) {
                    reaction.changed(containerId, after);
                    String onFailure = check.getOnFailure().isEmpty() ? "none" : check.getOnFailure();
                    if (after.equals(UNHEALTHY) && !onFailure.equals("none")) {
                        // off this thread: the reaction ends the container, whose end stops this watch
                        Thread.ofVirtual().name("health-action-" + containerId)
                                .start(() -> reaction.unhealthy(containerId, onFailure));
                    }
                }
                return found;
            }
        }

        private void apply(Outcome o) {
            status.addLog(HealthLogEntry.newBuilder().setStart(o.start()).setEnd(o.end()).setExitCode(o.exitCode())
                    .setOutput(o.output()));
            while (status.getLogCount() > LOG_ENTRIES) {
                status.removeLog(0);
            }
            if (o.exitCode() == 0) {
                status.setFailingStreak(0).setStatus(HEALTHY);
            } else if (!(status.getStatus().equals(STARTING) && inStartPeriod())) {
                status.setFailingStreak(status.getFailingStreak() + 1);
                if (status.getFailingStreak() >= retries(check)) {
                    status.setStatus(UNHEALTHY);
                }
            }
        }

        private boolean inStartPeriod() {
            return System.nanoTime() - startedNanos < TimeUnit.MILLISECONDS.toNanos(check.getStartPeriodMs());
        }

        synchronized void stop() {
            stopped = true;
            if (next != null) {
                next.cancel(false);
            }
        }
    }

    HealthChecks(Runner runner, Reaction reaction) {
        this.runner = runner;
        this.reaction = reaction;
    }

    /** Whether {@code check} asks for runs: a test other than NONE. */
    static boolean enabled(HealthCheck check) {
        return check.getTestCount() > 0 && !check.getTest(0).equals("NONE");
    }

    /** The container's task has just started running: its check's first run comes after one interval. */
    void started(String containerId, ContainerConfig config) {
        if (!config.hasHealthCheck() || !enabled(config.getHealthCheck())) {
            return;
        }
        Watch watch = new Watch(containerId, config.getHealthCheck());
        Watch previous = watches.put(containerId, watch);
        if (previous != null) {
            previous.stop();
        }
        watch.scheduleNext();
    }

    /** The container's run ended: no more runs, and no status. */
    void ended(String containerId) {
        Watch watch = watches.remove(containerId);
        if (watch != null) {
            watch.stop();
        }
    }

    /** The findings of the container's check in this run; empty when it has none or does not run. */
    Optional<HealthStatus> status(String containerId) {
        Watch watch = watches.get(containerId);
        if (watch == null) {
            return Optional.empty();
        }
        synchronized (watch) {
            return Optional.of(watch.status.build());
        }
    }

    /** Runs the container's check now (podman's healthcheck run), its finding applied; empty: it has no check. */
    Optional<HealthStatus> runNow(String containerId) {
        Watch watch = watches.get(containerId);
        return watch == null ? Optional.empty() : Optional.of(watch.runOnce());
    }

    /**
     * Reads a started run's output (stdout and stderr, the first {@link #OUTPUT_BYTES} kept) until its exit, at most
     * {@code timeout}; past it the run is a failure (-1) and its stdio is closed.
     */
    static Outcome collect(AttachedExec run, Duration timeout, Timestamp start) {
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        Thread reader = Thread.ofVirtual().name("health-output").start(() -> {
            try (StdioChannel stdio = run.stdio()) {
                for (StdioFrame frame = stdio.read(); frame != null; frame = stdio.read()) {
                    switch (frame.type()) {
                        case STDOUT, STDERR -> {
                            synchronized (output) {
                                output.write(frame.payload(), 0, Math.min(frame.payload().length,
                                        Math.max(0, OUTPUT_BYTES - output.size())));
                            }
                        }
                        case EXIT -> exit.complete(frame.exitStatus());
                        default -> { }
                    }
                }
                exit.complete(-1); // the stream ended without its exit
            } catch (IOException e) {
                exit.complete(-1);
            }
        });
        int code;
        try {
            code = exit.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            code = -1;
            reader.interrupt();
            try {
                run.stdio().close(); // its reader ends; the process is the caller's to end
            } catch (IOException closing) {
                // closed already
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            code = -1;
        } catch (ExecutionException e) {
            code = -1;
        }
        synchronized (output) {
            return new Outcome(start, Timestamps.now(), code, output.toString(StandardCharsets.UTF_8));
        }
    }

    /** The command the check runs: CMD's program and arguments, or CMD-SHELL's script under /bin/sh -c. */
    static ExecConfig command(HealthCheck check) {
        List<String> test = check.getTestList();
        ExecConfig.Builder exec = ExecConfig.newBuilder();
        if (test.getFirst().equals("CMD-SHELL")) {
            exec.addCommand("/bin/sh").addCommand("-c").addCommand(test.get(1));
        } else {
            exec.addAllCommand(test.subList(1, test.size()));
        }
        return exec.build();
    }

    static Duration interval(HealthCheck check) {
        return check.getIntervalMs() > 0 ? Duration.ofMillis(check.getIntervalMs()) : DEFAULT_INTERVAL;
    }

    static Duration timeout(HealthCheck check) {
        return check.getTimeoutMs() > 0 ? Duration.ofMillis(check.getTimeoutMs()) : DEFAULT_TIMEOUT;
    }

    static int retries(HealthCheck check) {
        return check.getRetries() > 0 ? check.getRetries() : DEFAULT_RETRIES;
    }
}
