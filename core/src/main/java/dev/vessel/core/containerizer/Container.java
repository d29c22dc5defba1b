package dev.vessel.core.containerizer;

import dev.vessel.core.model.ContainerRecord;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The containerizer's in-memory state of one container. Every change of {@link #record} is
 * checkpointed by the containerizer while it holds {@link #lock}.
 */
final class Container {
    final String id;
    /** Ids from the top-level container down to this one. */
    final List<String> lineage;
    final Path dir;
    final ReentrantLock lock = new ReentrantLock();
    /** Completes with the termination once the container is TERMINATED (or its cleanup failed). */
    final CompletableFuture<Termination> terminated = new CompletableFuture<>();

    ContainerRecord.Builder record;
    Launcher launcher;
    LaunchedTask task;
    /** Completes with the first limitation an isolator reports, once the container is watched. */
    CompletableFuture<Limitation> limitation = new CompletableFuture<>();

    Container(String id, List<String> lineage, Path dir, ContainerRecord.Builder record) {
        this.id = id;
        this.lineage = List.copyOf(lineage);
        this.dir = dir;
        this.record = record;
    }

    ContainerState state() {
        return record.getStatus().getState();
    }

    String parentId() {
        return record.getConfig().getParentId();
    }
}
