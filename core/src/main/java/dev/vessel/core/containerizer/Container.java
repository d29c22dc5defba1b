package dev.vessel.core.containerizer;

import dev.vessel.core.checkpoint.CheckpointFile;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.model.ContainerRecord;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The containerizer's in-memory state of one container, and its record's checkpoint. Every change
 * of {@link #record} is checkpointed while {@link #lock} is held.
 */
final class Container {
    /** Schema of {@link ContainerRecord} checkpoints; bump it with an upgrade when a field changes meaning. */
    static final ProtoCodec<ContainerRecord> RECORD_CODEC = ProtoCodec.of(1, ContainerRecord.parser());

    final String id;
    /** Ids from the top-level container down to this one. */
    final List<String> lineage;
    final Path dir;
    private final Path recordFile;
    final ReentrantLock lock = new ReentrantLock();
    /** Completes with the termination once the container is TERMINATED (or its cleanup failed). */
    final CompletableFuture<Termination> terminated = new CompletableFuture<>();

    ContainerRecord.Builder record;
    Launcher launcher;
    LaunchedTask task;
    /** Completes with the first limitation an isolator reports, once the container is watched. */
    CompletableFuture<Limitation> limitation = new CompletableFuture<>();

    /** The container at the end of {@code lineage}, in the directory the layout gives it. */
    Container(RuntimePaths paths, List<String> lineage, ContainerRecord.Builder record) {
        this.id = lineage.getLast();
        this.lineage = List.copyOf(lineage);
        this.dir = paths.containerDir(lineage);
        this.recordFile = paths.containerRecord(dir);
        this.record = record;
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
    }

    /** Moves to {@code next} and checkpoints the record. */
    void moveTo(ContainerState next) {
        enter(next);
        checkpoint();
    }

    void checkpoint() {
        CheckpointFile.write(recordFile, RECORD_CODEC, record.build());
    }
}
