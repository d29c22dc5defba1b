package dev.vessel.core.spi;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.stdio.StdioChannel;
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

    /**
     * Connects to the stdio of the container's running task: what it prints from now on, stdin when its
     * config is {@code interactive}, resizes when it is a {@code tty}; the last frame is its EXIT.
     */
    default StdioChannel attach(ContainerContext container) throws Exception {
        throw new VesselException(ErrorCode.FAILED_PRECONDITION, container.containerId(),
                "the " + name() + " launcher cannot attach to a task");
    }

    /**
     * Starts a process inside the container's running task, with the task's namespaces, cgroups,
     * rootfs, capabilities, seccomp filter and (unless the plan says otherwise) user, working directory
     * and environment. Returns once it runs; it ends at the latest with the container.
     */
    default ExecutedProcess exec(ContainerContext container, ExecPlan plan) throws Exception {
        throw new VesselException(ErrorCode.FAILED_PRECONDITION, container.containerId(),
                "the " + name() + " launcher cannot run a process in a running task");
    }

    /**
     * As {@link #exec}, with a connection to the process's stdio made before it runs, so that a client is
     * sent all it prints (a short process may have printed and ended before an {@link ExecutedProcess#attach}
     * after {@code exec} could connect). By default {@code exec}, then {@code attach}: a launcher whose
     * processes can print before that connects does it in between.
     */
    default AttachedExec execAttached(ContainerContext container, ExecPlan plan) throws Exception {
        ExecutedProcess process = exec(container, plan);
        return new AttachedExec(process, process.attach());
    }

    /** After a restart: the exec of this plan, alive or with its status known; empty when nothing is left of it. */
    default Optional<ExecutedProcess> recoverExec(ContainerContext container, ExecPlan plan) throws Exception {
        return Optional.empty();
    }
}
