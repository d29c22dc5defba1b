package dev.vessel.core.containerizer;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.checkpoint.CheckpointFile;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.model.ContainerRecord;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The containerizer's in-memory state of one container, and its record's checkpoint. Every change
 * of {@link #record} is checkpointed while {@link #lock} is held; each checkpoint and state move
 * also publishes {@link #snapshot()}, which readers use without the lock (a launch holds it
 * through provisioning and a VM's boot).
 */
final class Container {
    /** Schema of {@link ContainerRecord} checkpoints; bump it with an upgrade when a field changes meaning. */
    static final ProtoCodec<ContainerRecord> RECORD_CODEC = ProtoCodec.of(1, ContainerRecord.parser());

    final String id;
    /** Ids from the top-level container down to this one. */
    final List<String> lineage;
    final Path dir;
    /** Where the record is checkpointed; null where records live in memory only (see {@link #checkpoint}). */
    private final Path recordFile;
    private final RuntimePaths paths;
    /** Its launcher's checkpoint slot: a file, or memory where records live in memory only. */
    private final Checkpoint launcherSlot;
    /** Its isolators' checkpoint slots, by isolator, where records live in memory only; else null (files). */
    private final Map<String, Checkpoint> isolatorSlotsInMemory;
    final ReentrantLock lock = new ReentrantLock();
    /** Completes with the termination once the container is TERMINATED (or its cleanup failed). */
    final CompletableFuture<Termination> terminated = new CompletableFuture<>();
    /**
     * Completes with the termination as soon as the task's end is known and told apart (exit, kill, limitation),
     * before the cleanup {@link #terminated} waits for; with {@link #terminated} at the latest.
     */
    final CompletableFuture<Termination> ended = new CompletableFuture<>();
    /** The processes exec'd into this run of the container. */
    final ContainerExecs execs;

    ContainerRecord.Builder record;
    Launcher launcher;
    LaunchedTask task;
    /** Completes with the first limitation an isolator reports, once the container is watched. */
    CompletableFuture<Limitation> limitation = new CompletableFuture<>();

    /** The record as last published; read without the lock. */
    private volatile ContainerRecord snapshot;
    /** Guards {@link #launching} and {@link #cancelled}, so a cancel never interrupts a thread that moved on. */
    private final Object launchGuard = new Object();
    /** The thread running this container's launch, while it runs. */
    private Thread launching;
    /** A destroy asked the launch in progress to stop. */
    private boolean cancelled;

    /**
     * The container at the end of {@code lineage}, in the directory the layout gives it; its record is written to
     * disk at each checkpoint unless {@code recordOnDisk} is false (a containerizer that never recovers), which
     * keeps its components' checkpoints in memory too.
     */
    Container(RuntimePaths paths, List<String> lineage, boolean recordOnDisk, ContainerRecord.Builder record) {
        this.id = lineage.getLast();
        this.lineage = List.copyOf(lineage);
        this.dir = paths.containerDir(lineage);
        this.recordFile = recordOnDisk ? paths.containerRecord(dir) : null;
        this.paths = paths;
        this.launcherSlot = recordOnDisk ? Checkpoint.at(paths.launcherCheckpoint(dir)) : Checkpoint.inMemory();
        this.isolatorSlotsInMemory = recordOnDisk ? null : new ConcurrentHashMap<>(); // isolators prepare concurrently
        this.execs = new ContainerExecs(paths, id, dir, this::execLauncherCheckpoint);
        this.record = record;
        terminated.whenComplete((t, e) -> {
            if (e == null) {
                ended.complete(t);
            } else {
                ended.completeExceptionally(e);
            }
        });
        this.snapshot = record.build();
    }

    /** The record as of its last checkpoint or state move: what readers see without the lock. */
    ContainerRecord snapshot() {
        return snapshot;
    }

    /** Publishes the record as it is now to lock-free readers; called with the lock held. */
    void publish() {
        snapshot = record.build();
    }

    /** Marks the calling thread as this container's launch, which {@link #cancelLaunch()} may interrupt. */
    void launchStarted() {
        synchronized (launchGuard) {
            launching = Thread.currentThread();
        }
    }

    /** The launch's thread is done with it: a late cancel no longer interrupts it, nor does an early one linger. */
    void launchEnded() {
        synchronized (launchGuard) {
            launching = null;
            if (cancelled) {
                Thread.interrupted();
            }
        }
    }

    /**
     * Asks the launch in progress to stop: it is interrupted (a fetch, an image pull or a VM boot
     * waiting for its guest gives up) and checks {@link #cancelled()} between its steps. False when
     * no launch is in progress.
     */
    boolean cancelLaunch() {
        synchronized (launchGuard) {
            if (launching == null) {
                return false;
            }
            cancelled = true;
            launching.interrupt();
            return true;
        }
    }

    boolean cancelled() {
        synchronized (launchGuard) {
            return cancelled;
        }
    }

    ContainerState state() {
        return record.getStatus().getState();
    }

    String parentId() {
        return record.getConfig().getParentId();
    }

    /** Moves to {@code next} in memory only; the next checkpoint writes it. */
    void enter(ContainerState next) {
        StateMachine.check(id, state(), next);
        record.getStatusBuilder().setState(next);
        publish();
    }

    /** Moves to {@code next} and checkpoints the record. */
    void moveTo(ContainerState next) {
        enter(next);
        checkpoint();
    }

    /** Its launcher's checkpoint slot: the same one each time it is asked for. */
    Checkpoint launcherCheckpoint() {
        return launcherSlot;
    }

    /** The checkpoint slot of its isolator {@code name}: the same one each time it is asked for. */
    Checkpoint isolatorCheckpoint(String name) {
        return isolatorSlotsInMemory == null ? Checkpoint.at(paths.isolatorCheckpoint(dir, name))
                : isolatorSlotsInMemory.computeIfAbsent(name, n -> Checkpoint.inMemory());
    }

    /**
     * The launcher's checkpoint slot for the exec of {@code execDir}, asked for once per start or recovery of that
     * exec: its file, or a new slot in memory where records live in memory only (nothing recovers an exec there).
     */
    private Checkpoint execLauncherCheckpoint(Path execDir) {
        return recordFile == null ? Checkpoint.inMemory() : Checkpoint.at(paths.launcherCheckpoint(execDir));
    }

    /**
     * Publishes the record, and writes it for recovery unless the containerizer keeps records in memory only — or
     * the container's directory is gone: a newer containerizer on the same directories removed the container, and
     * writing would make its directory again, a record alone that the next recovery would take for a container.
     */
    void checkpoint() {
        ContainerRecord now = record.build();
        if (recordFile != null && Files.isDirectory(dir)) {
            CheckpointFile.write(recordFile, RECORD_CODEC, now);
        }
        snapshot = now;
    }
}
