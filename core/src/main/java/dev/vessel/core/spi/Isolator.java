package dev.vessel.core.spi;

import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One kind of isolation applied to a container (a cgroup controller, a filesystem, a network...),
 * with the lifecycle hooks of Mesos's isolators. One isolator per class, one job per isolator.
 *
 * <p>Order: the containerizer calls {@code prepare} before the task exists (isolators with no
 * dependency between them concurrently), {@code isolate} once the task is forked but still blocked,
 * then releases the task; {@code cleanup} runs in reverse order when the container is torn down.
 *
 * <p>{@code cleanup} is called for every isolator of the chain, whether or not its {@code prepare}
 * ran or succeeded (a crash may have interrupted it): it must be idempotent and tolerate a container
 * it knows nothing about.
 */
public interface Isolator {
    /** A short unique name, e.g. {@code cgroups/memory}; also names its checkpoint. */
    String name();

    /**
     * Whether this isolator takes part in containers of this isolation class. Most isolate a process
     * on this host; for a VM task they run inside the guest instead, and the host runs only the
     * isolators that shape the VM itself (its size, its devices).
     */
    default boolean appliesTo(Isolation isolation) {
        return isolation == Isolation.PROCESS;
    }

    /** Keys this isolator reads in {@code prepare}; each must be provided by exactly one other. */
    default Set<Key<?>> requires() {
        return Set.of();
    }

    /** Keys this isolator writes in {@code prepare}; it must write every one of them. */
    default Set<Key<?>> provides() {
        return Set.of();
    }

    /**
     * Called once at start-up with every container still alive. The isolator rebuilds its state
     * (from its checkpoints) and removes what it finds that belongs to no container listed.
     */
    default void recover(List<ContainerContext> containers) throws Exception {
    }

    /** Before the task exists: allocate, and say what the launch needs (mounts, env, namespaces...). */
    LaunchInfo prepare(PrepareContext context) throws Exception;

    /** The task exists (pid) but waits until every isolator has run: place it (cgroups, network...). */
    default void isolate(ContainerContext context, long pid) throws Exception {
    }

    /** Completes when the container runs into a limit (OOM, disk quota); never completes otherwise. */
    default CompletableFuture<Limitation> watch(ContainerContext context) {
        return new CompletableFuture<>();
    }

    /** Changes the limits of a running container. */
    default void update(ContainerContext context, Resources resources) throws Exception {
    }

    /**
     * Freezes ({@code frozen}) or thaws every process of the running container, for a pause: returns once
     * they are all frozen (or thawed), true if this isolator did it. At most one isolator of a chain freezes.
     */
    default boolean freeze(ContainerContext context, boolean frozen) throws Exception {
        return false;
    }

    /** The host pids of the container's processes, if this isolator can tell (the task's cgroups); empty otherwise. */
    default List<Long> processes(ContainerContext context) throws Exception {
        return List.of();
    }

    /** This isolator's part of the container's statistics; the containerizer merges all parts. */
    default ResourceStatistics usage(ContainerContext context) throws Exception {
        return ResourceStatistics.getDefaultInstance();
    }

    /**
     * This isolator's part of a running container's status; the containerizer merges all parts.
     * Only fields the containerizer does not own are taken: today {@code ip_addresses} and {@code gpus}.
     */
    default ContainerStatus status(ContainerContext context) throws Exception {
        return ContainerStatus.getDefaultInstance();
    }

    /** Releases everything this isolator holds for the container. Idempotent. */
    default void cleanup(ContainerContext context) throws Exception {
    }
}
