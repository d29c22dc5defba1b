package dev.vessel.core.containerizer;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.checkpoint.CheckpointFile;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Failures;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.ExecState;
import dev.vessel.core.model.ExecStatus;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ExecPlan;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.spi.Launcher;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * The processes exec'd into one run of a container: each one's record ({@link ExecStatus}, checkpointed
 * in its directory under the container's, see {@link RuntimePaths#execDir}), its process once started, and
 * its end — its own, or its container's. The containerizer calls in with the container's lock held where
 * the container's state matters (create, start); an exec's own end arrives on a thread of its own.
 */
final class ContainerExecs {
    private static final System.Logger LOG = System.getLogger(ContainerExecs.class.getName());

    /** Schema of exec records. */
    static final ProtoCodec<ExecStatus> RECORD_CODEC = ProtoCodec.of(1, ExecStatus.parser());
    /** Records one run of a container keeps: each is a directory, and a client must not make them without end. */
    static final int MAX_EXECS = 1024;
    /** The status of a process that could not be started (the shell's "cannot execute"). */
    static final int NOT_STARTED = 126;
    /** The status of a process that went with its container: the kernel SIGKILLs what is left in its namespaces. */
    static final int KILLED_WITH_CONTAINER = 128 + 9;
    /** The status of a process whose end was lost (nothing about it was left after a restart). */
    static final int LOST = -1;
    /** How long the container's end waits for its execs' monitors to report their own ends. */
    private static final long END_GRACE_MS = 2000;

    private final RuntimePaths paths;
    private final String containerId;
    private final Path containerDir;
    /** The launcher's checkpoint slot for an exec, by the exec's directory: the container hands them out. */
    private final Function<Path, Checkpoint> launcherSlots;
    /** Guarded by {@code this}; in the order they were made (recovered ones by id). */
    private final Map<String, Exec> execs = new LinkedHashMap<>();

    /** One exec: its directory, its record as last checkpointed, and its process once started. */
    private static final class Exec {
        final Path dir;
        ExecStatus.Builder status;
        ExecutedProcess process;

        Exec(Path dir, ExecStatus.Builder status) {
            this.dir = dir;
            this.status = status;
        }
    }

    ContainerExecs(RuntimePaths paths, String containerId, Path containerDir, Function<Path, Checkpoint> launcherSlots) {
        this.paths = paths;
        this.containerId = containerId;
        this.containerDir = containerDir;
        this.launcherSlots = launcherSlots;
    }

    /**
     * The plan of an exec whose record its caller keeps elsewhere (a guest's agent: the host keeps the records of a
     * VM task's execs): its directory made where a recorded exec's is, and the launcher's slot for it.
     */
    ExecPlan unrecordedPlan(String execId, ExecConfig config) {
        Path dir = paths.execDir(containerDir, execId);
        Directories.create(dir);
        return plan(execId, config, dir);
    }

    /** The plan of exec {@code execId}, in {@code dir}, with the launcher's checkpoint slot for it. */
    private ExecPlan plan(String execId, ExecConfig config, Path dir) {
        return new ExecPlan(execId, config, dir, launcherSlots.apply(dir));
    }

    /** Records a new exec, not started; {@code config} is valid. */
    synchronized ExecStatus create(ExecConfig config) {
        if (execs.size() >= MAX_EXECS) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, containerId, "container '" + containerId
                    + "' has " + MAX_EXECS + " exec records already, the most one run keeps");
        }
        String id;
        do {
            id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()).substring(4);
        } while (execs.containsKey(id));
        Exec e = new Exec(paths.execDir(containerDir, id), ExecStatus.newBuilder().setId(id).setConfig(config)
                .setState(ExecState.EXEC_CREATED));
        Directories.create(e.dir);
        checkpoint(e);
        execs.put(id, e);
        return e.status.build();
    }

    synchronized ExecStatus status(String execId) {
        return get(execId).status.build();
    }

    synchronized List<ExecStatus> statuses() {
        return execs.values().stream().map(e -> e.status.build()).toList();
    }

    /**
     * Starts a created exec through the container's launcher (called with the container's lock held, the
     * container running or created), with its stdio attached before it runs when {@code attach} (else the result's
     * {@code stdio} is null). A failure to start records the exec as ended with {@link #NOT_STARTED} and is
     * rethrown.
     */
    AttachedExec start(String execId, Launcher launcher, ContainerContext container, boolean attach) {
        Exec e;
        synchronized (this) {
            e = get(execId);
            if (e.status.getState() != ExecState.EXEC_CREATED) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, execId, "exec '" + execId + "' of container '"
                        + containerId + "' was started already (" + e.status.getState() + "); create another");
            }
            // marked before the launcher runs, so a concurrent second start is refused
            e.status.setState(ExecState.EXEC_RUNNING).setStartedAt(Timestamps.now());
        }
        ExecPlan plan = plan(execId, e.status.getConfig(), e.dir);
        AttachedExec started;
        try {
            started = ComponentStep.run("launcher '" + launcher.name() + "'", "start exec " + execId,
                    () -> attach ? launcher.execAttached(container, plan)
                            : new AttachedExec(launcher.exec(container, plan), null));
        } catch (RuntimeException failure) {
            ended(e, NOT_STARTED);
            throw failure;
        }
        synchronized (this) {
            e.process = started.process();
            e.status.setPid(started.process().pid());
            checkpoint(e);
        }
        watch(e, started.process());
        return started;
    }

    /** The process of a running exec, for a client to attach to or signal. */
    synchronized ExecutedProcess running(String execId) {
        Exec e = get(execId);
        if (e.status.getState() != ExecState.EXEC_RUNNING || e.process == null) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, execId, "exec '" + execId + "' of container '"
                    + containerId + "' is " + e.status.getState() + ", not running");
        }
        return e.process;
    }

    /**
     * After a restart, with the container's task found running: reads every exec record of this run; a
     * running exec is found again through the launcher (alive, or with its status known), or recorded as
     * lost. Records that cannot be read are removed.
     */
    void recover(Launcher launcher, ContainerContext container) {
        for (Exec e : readRecords()) {
            if (e.status.getState() == ExecState.EXEC_RUNNING) {
                ExecPlan plan = plan(e.status.getId(), e.status.getConfig(), e.dir);
                Optional<ExecutedProcess> found;
                try {
                    found = launcher.recoverExec(container, plan);
                } catch (Exception ex) {
                    LOG.log(Level.WARNING, "exec ''{0}'' of container ''{1}'' could not be recovered: {2}",
                            e.status.getId(), containerId, Failures.unwrap(ex).getMessage());
                    found = Optional.empty();
                }
                if (found.isPresent()) {
                    synchronized (this) {
                        e.process = found.get();
                    }
                    watch(e, found.get());
                } else {
                    ended(e, LOST);
                }
            }
        }
    }

    /** After a restart, for a container whose task has ended: its execs' records, the running ones ended with it. */
    void recoverEnded() {
        readRecords();
        containerEnded();
    }

    /**
     * The container has ended: so has every exec still running (their namespaces are gone). Each gets a
     * moment for its monitor to report its own status; what has none by then was killed with the container.
     */
    void containerEnded() {
        List<Exec> running;
        synchronized (this) {
            running = execs.values().stream().filter(e -> e.status.getState() == ExecState.EXEC_RUNNING).toList();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(END_GRACE_MS);
        for (Exec e : running) {
            ExecutedProcess process;
            synchronized (this) {
                process = e.process;
            }
            int status = KILLED_WITH_CONTAINER;
            if (process != null) {
                try {
                    status = process.exit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException | java.util.concurrent.ExecutionException ex) {
                    // killed with the container, unreported
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }
            ended(e, status);
        }
    }

    private void watch(Exec e, ExecutedProcess process) {
        process.exit().whenComplete((status, error) -> {
            if (error != null) {
                LOG.log(Level.WARNING, "exec ''{0}'' of container ''{1}'': its launcher lost track of it: {2}",
                        e.status.getId(), containerId, Failures.unwrap(error).getMessage());
            }
            ended(e, error == null ? status : LOST);
        });
    }

    /** Records the end of an exec, once: the first end reported is its end. */
    private synchronized void ended(Exec e, int status) {
        if (e.status.getState() == ExecState.EXEC_EXITED) {
            return;
        }
        e.status.setState(ExecState.EXEC_EXITED).setExitCode(status).setFinishedAt(Timestamps.now());
        try {
            checkpoint(e);
        } catch (RuntimeException ex) {
            // the container may have been removed with its directory meanwhile
            LOG.log(Level.DEBUG, "exec ''{0}'' ended, its record not written: {1}", e.status.getId(), ex.getMessage());
        }
    }

    private synchronized List<Exec> readRecords() {
        List<String> ids;
        try {
            ids = paths.execIds(containerDir);
        } catch (IOException e) {
            throw VesselException.internal(containerDir.toString(), "cannot list execs: " + e.getMessage(), e);
        }
        List<Exec> found = new ArrayList<>();
        for (String id : ids) {
            Path dir = paths.execDir(containerDir, id);
            Optional<ExecStatus> record;
            try {
                record = CheckpointFile.read(paths.execRecord(dir), RECORD_CODEC);
            } catch (VesselException e) {
                LOG.log(Level.WARNING, "removing exec ''{0}'' of container ''{1}'': {2}", id, containerId, e.getMessage());
                record = Optional.empty();
            }
            if (record.isEmpty()) {
                Directories.deleteTree(dir); // a crash between its directory and its record: nothing ran
                continue;
            }
            Exec e = new Exec(dir, record.get().toBuilder());
            execs.put(id, e);
            found.add(e);
        }
        return found;
    }

    private Exec get(String execId) {
        Exec e = execs.get(execId);
        if (e == null) {
            throw VesselException.notFound(execId, "container '" + containerId + "' has no exec " + Quoted.of(execId));
        }
        return e;
    }

    private void checkpoint(Exec e) {
        CheckpointFile.write(paths.execRecord(e.dir), RECORD_CODEC, e.status.build());
    }
}
