package dev.vessel.core.spi;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.ExecStatus;
import dev.vessel.core.model.HealthStatus;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.stdio.StdioChannel;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The one entry point for running tasks, whatever their isolation. Every method reports failures as
 * {@code VesselException}s naming the container or field concerned.
 */
public interface Containerizer {
    /** Rebuilds the in-memory state from checkpoints after a (re)start; cleans up what it cannot recover. */
    void recover();

    /** Validates, provisions, isolates and starts a container; returns once it runs. */
    ContainerStatus launch(ContainerConfig config);

    /**
     * As {@link #launch}, but leaves the task isolated and blocked before it runs the container's program
     * (CREATED), as an OCI runtime's {@code create} does; {@link #start} runs it.
     */
    ContainerStatus create(ContainerConfig config);

    /** Completes with the container's termination once it is fully cleaned up. */
    CompletableFuture<Termination> wait(String containerId);

    /** Sends a signal to the container's task (CREATED or RUNNING). */
    void kill(String containerId, int signal);

    /**
     * Stops the container: its stop signal, then, after {@code timeout} (empty: its config's, else 10 s), a
     * destroy. Its end counts as asked for: no restart policy starts it again. Returns once it has ended; an
     * ended container is fine.
     */
    Termination stop(String containerId, Optional<Duration> timeout);

    /**
     * Runs the container's program and returns once it runs: a CREATED container's task is released; an
     * ended container runs again, the same id and config (its logs appended to); a running one is left as it is.
     */
    ContainerStatus start(String containerId);

    /** Kills every process of the container, cleans up and returns its termination. */
    Termination destroy(String containerId);

    /** Changes the resource limits of a running (or paused) container; kept in its config. */
    void update(String containerId, Resources resources);

    /**
     * Freezes every process of a RUNNING container (PAUSED) until {@link #resume}; kept across a daemon's
     * restart. A paused container can be killed, stopped and destroyed; it takes no exec.
     */
    ContainerStatus pause(String containerId);

    /** Thaws a PAUSED container: RUNNING again. */
    ContainerStatus resume(String containerId);

    /** The host pids of the processes of a running (or paused) container: its task, its execs, their children. */
    List<Long> processes(String containerId);

    ContainerStatus status(String containerId);

    /** Runs the container's health check now and answers what it found (podman's healthcheck run). */
    HealthStatus checkHealth(String containerId);

    /** The container's effective config: what it was launched with, completed by its image's defaults. */
    ContainerConfig config(String containerId);

    List<ContainerStatus> list();

    ResourceStatistics usage(String containerId);

    /** Forgets a terminated container (its record and run directory). */
    void remove(String containerId);

    /**
     * Connects to the stdio of the container's running task: what it prints from now on, its stdin when its
     * config is {@code interactive}, resizes when it has a {@code tty}; the last frame is its EXIT. Closing
     * the channel detaches and leaves the task running.
     */
    StdioChannel attach(String containerId);

    /** Sets the size of the container's terminal (a {@code tty} container's): rows and columns, 1 to 65535. */
    void resize(String containerId, int rows, int columns);

    /**
     * Records a process to run inside the running (or created) container (validated, fields named as in
     * {@link ExecConfig}); {@link #execStart} runs it. It is listed in the container's status.
     */
    ExecStatus execCreate(String containerId, ExecConfig config);

    /** Starts a created exec and connects to its stdio, as {@link #attach} does to a task's; its last frame is its EXIT. */
    StdioChannel execStart(String containerId, String execId);

    /** Starts a created exec with nobody attached; returns once it runs. */
    ExecStatus execStartDetached(String containerId, String execId);

    ExecStatus execStatus(String containerId, String execId);

    /** Sets the size of a running exec's terminal, as {@link #resize} does a task's. */
    void execResize(String containerId, String execId, int rows, int columns);
}
