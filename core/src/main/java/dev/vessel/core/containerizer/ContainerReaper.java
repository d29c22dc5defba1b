package dev.vessel.core.containerizer;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Failures;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.fault.FaultPoints;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.spi.Provisioner;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Sees containers to their end, for launch and recovery alike: watches a running task for its exit
 * and its first limitation, tells why it ended, releases what isolators and the provisioner hold for
 * the container and records the termination.
 */
final class ContainerReaper {
    private static final System.Logger LOG = System.getLogger(ContainerReaper.class.getName());

    private static final int SIGKILL = 9;
    private static final long LIMITATION_GRACE_MS = 2000;
    /** A failed cleanup is retried after 1 s, then twice as long each time, at most this long. */
    private static final Duration MAX_RETRY_DELAY = Duration.ofMinutes(1);

    private final IsolatorChains chains;
    private final Optional<Provisioner> provisioner;
    /** Told of each container that has become TERMINATED, with its lock held (its restart policy's turn). */
    private final Consumer<Container> terminated;
    /** Runs the retries of failed cleanups; its one thread only hands each retry to a virtual thread. */
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("cleanup-retries").factory());

    ContainerReaper(IsolatorChains chains, Optional<Provisioner> provisioner, Consumer<Container> terminated) {
        this.chains = chains;
        this.provisioner = provisioner;
        this.terminated = terminated;
    }

    /** Ends the container when its task exits, or destroys the task when an isolator reports a limitation. */
    void watch(Container c) {
        c.limitation = chains.of(c).watch(ComponentContext.perIsolator(c));
        c.limitation.thenAccept(limitation -> onLimitation(c, limitation));
        // A fresh thread: exit handling takes the container's lock, which the completer may hold.
        c.task.exit().whenComplete((termination, error) -> Thread.ofVirtual().name("exit-" + c.id)
                .start(() -> onExit(c, termination, error)));
    }

    private void onLimitation(Container c, Limitation limitation) {
        c.lock.lock();
        try {
            if (c.state() != ContainerState.RUNNING || c.record.hasLimitation()) {
                return;
            }
            c.record.setLimitation(limitation);
            c.checkpoint();
            c.task.destroy();
        } catch (Exception e) {
            LOG.log(Level.ERROR, "container ''{0}'' hit a limitation ({1}) but could not be destroyed: {2}",
                    c.id, limitation.getMessage(), e.getMessage());
        } finally {
            c.lock.unlock();
        }
    }

    private void onExit(Container c, Termination exited, Throwable error) {
        c.lock.lock();
        try {
            if (c.state() == ContainerState.TERMINATED || c.state() == ContainerState.DESTROYING) {
                return;
            }
            awaitLimitationBehindKill(c, exited);
            Termination termination = error == null ? classify(c, exited) : Termination.newBuilder()
                    .setReason(TerminationReason.LOST)
                    .setMessage("the launcher lost track of the task: " + Failures.unwrap(error).getMessage())
                    .build();
            c.ended.complete(termination); // final now: who discards the node next need not wait for the cleanup
            finish(c, termination);
        } finally {
            c.lock.unlock();
        }
    }

    /**
     * The kernel's SIGKILL for a limit (the OOM killer) can reach the task before the isolator's
     * notice reaches us. A SIGKILL nobody here sent gets a short grace for that notice, so the
     * container ends with its limitation instead of a bare signal.
     */
    private static void awaitLimitationBehindKill(Container c, Termination exited) {
        if (exited == null || exited.hasLimitation() || c.record.hasLimitation() || c.record.getKilled()
                || exited.getStatusCase() != Termination.StatusCase.SIGNAL || exited.getSignal() != SIGKILL) {
            return;
        }
        try {
            c.record.setLimitation(c.limitation.get(LIMITATION_GRACE_MS, TimeUnit.MILLISECONDS));
        } catch (TimeoutException | ExecutionException e) {
            // killed by someone else: an exit like any other
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The launcher reports how the task ended; the containerizer knows why (a kill, a limitation). */
    static Termination classify(Container c, Termination exited) {
        Termination.Builder t = exited.toBuilder();
        if (c.record.hasLimitation()) {
            t.setReason(TerminationReason.LIMITATION).setLimitation(c.record.getLimitation());
            if (t.getMessage().isEmpty()) {
                t.setMessage(c.record.getLimitation().getMessage());
            }
        } else if (c.record.getKilled() && exited.getStatusCase() == Termination.StatusCase.SIGNAL) {
            t.setReason(TerminationReason.KILLED);
        } else if (t.getReason() == TerminationReason.TERMINATION_REASON_UNSPECIFIED) {
            t.setReason(TerminationReason.EXITED);
        }
        return t.build();
    }

    /**
     * Cleans up and records the termination. DESTROYING is not written on the way: if the daemon dies
     * during cleanup, the record still says RUNNING and recovery learns the exit again from the
     * launcher (whose monitor keeps it on disk); a kill or a limitation was checkpointed when it
     * happened. A failed cleanup is written, and leaves the container DESTROYING, marked with the
     * error ({@link #cleanupFailed}) and retried in the background; destroy or a restart tries again
     * at once.
     */
    void finish(Container c, Termination termination) {
        c.execs.containerEnded();
        c.record.getStatusBuilder().setTermination(termination);
        if (c.state() != ContainerState.DESTROYING) {
            c.enter(ContainerState.DESTROYING);
        }
        try {
            release(c);
        } catch (RuntimeException e) {
            cleanupFailed(c, e);
            c.terminated.complete(termination);
            return;
        }
        c.record.getStatusBuilder().setFinishedAt(Timestamps.now())
                .clearCleanupError().clearCleanupAttempts().clearNextCleanupAt();
        c.moveTo(ContainerState.TERMINATED);
        terminated.accept(c); // its events first: whoever waited on its end reads them next
        c.terminated.complete(termination);
    }

    /**
     * Keeps a container whose cleanup failed: DESTROYING, its record naming the failure, the number of
     * attempts and when the next one runs, which is scheduled here. Called with the lock held, the
     * container already DESTROYING with its termination.
     */
    void cleanupFailed(Container c, Exception failure) {
        int attempts = c.record.getStatus().getCleanupAttempts() + 1;
        Duration delay = retryDelay(attempts);
        c.record.getStatusBuilder().setCleanupError(String.valueOf(failure.getMessage()))
                .setCleanupAttempts(attempts).setNextCleanupAt(Timestamps.of(Instant.now().plus(delay)));
        LOG.log(Level.ERROR, "cleanup of container ''{0}'' failed (attempt {1}); it stays DESTROYING and is"
                + " retried in {2} s: {3}", c.id, attempts, delay.toSeconds(), failure.getMessage());
        c.checkpoint();
        retries.schedule(() -> Thread.ofVirtual().name("cleanup-retry-" + c.id).start(() -> retry(c, attempts)),
                delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    static Duration retryDelay(int attempts) {
        Duration delay = Duration.ofSeconds(1L << Math.min(attempts - 1, 16));
        return delay.compareTo(MAX_RETRY_DELAY) > 0 ? MAX_RETRY_DELAY : delay;
    }

    /** The scheduled retry of attempt {@code attempts}; nothing when another try (destroy, rm -f) came first. */
    private void retry(Container c, int attempts) {
        c.lock.lock();
        try {
            if (c.state() == ContainerState.DESTROYING && c.record.getStatus().getCleanupAttempts() == attempts
                    && c.record.getStatus().hasTermination()) {
                finish(c, c.record.getStatus().getTermination());
            }
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "retrying the cleanup of container ''{0}'' failed: {1}", c.id, e.getMessage());
        } finally {
            c.lock.unlock();
        }
    }

    /** Isolator cleanup (reverse order, past failures) and the rootfs; all failures together. */
    void release(Container c) {
        List<RuntimeException> failures = new ArrayList<>();
        try {
            chains.of(c).cleanup(ComponentContext.perIsolator(c));
        } catch (RuntimeException e) {
            failures.add(e);
        }
        FaultPoints.reach(FaultPoints.MID_DESTROY, c.id);
        if (c.record.getConfig().hasImage() && provisioner.isPresent()) {
            try {
                provisioner.get().destroy(c.id);
            } catch (Exception e) {
                failures.add(Failures.of("provisioner", "remove the rootfs", e));
            }
        }
        if (!failures.isEmpty()) {
            VesselException all = new VesselException(ErrorCode.INTERNAL, c.id, failures.stream()
                    .map(Throwable::getMessage).collect(Collectors.joining("; ")));
            failures.forEach(all::addSuppressed);
            throw all;
        }
    }
}
