package dev.vessel.core.spi;

import dev.vessel.core.model.Isolation;
import java.util.Optional;
import java.util.Set;

/**
 * Starts tasks of one isolation class: process containers, or VMs. The launcher checkpoints what it
 * needs to find a task again (in {@link ContainerContext#checkpoint()}) before {@code fork} returns.
 */
public interface Launcher {
    String name();

    Isolation isolation();

    /** Starts the task blocked at its sync point; the containerizer releases it after isolation. */
    LaunchedTask fork(LaunchPlan plan) throws Exception;

    /**
     * After a restart: the task of this container, alive or with its exit status already known; empty
     * when nothing can be learned about it any more.
     */
    Optional<LaunchedTask> recover(ContainerContext container) throws Exception;

    /**
     * At start-up, after every container was recovered: removes what this launcher started for a
     * container not in this set (a VM whose container has no checkpoint any more).
     */
    default void removeOrphans(Set<String> liveContainerIds) throws Exception {
    }
}
