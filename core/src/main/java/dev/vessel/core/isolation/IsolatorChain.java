package dev.vessel.core.isolation;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Failures;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.function.Function;

/**
 * Runs one container's hooks through the isolators of an {@link IsolatorGraph}: {@code prepare}
 * concurrently wherever the graph allows (or one after another, see {@link #inOrder}), {@code isolate},
 * {@code update} and {@code freeze} in order, {@code cleanup} in reverse order past any failure.
 */
public final class IsolatorChain {
    private static final Executor PREPARE_THREADS =
            Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("isolator-prepare-", 0).factory());
    /** Runs each prepare on the launching thread, in the graph's order (each one's requirements before it). */
    private static final Executor LAUNCHING_THREAD = Runnable::run;

    private final IsolatorGraph graph;
    private final Executor prepareThreads;

    public IsolatorChain(IsolatorGraph graph) {
        this(graph, PREPARE_THREADS);
    }

    private IsolatorChain(IsolatorGraph graph, Executor prepareThreads) {
        this.graph = graph;
        this.prepareThreads = prepareThreads;
    }

    /**
     * A chain whose isolators prepare one after another on the launching thread: where they wait on nothing
     * outside and the node has one CPU (a VM's guest), running them concurrently gains nothing and costs a
     * thread and its scheduling per isolator (traced in a guest under TCG: its prepare 26–30 → 23–24 ms).
     */
    public static IsolatorChain inOrder(IsolatorGraph graph) {
        return new IsolatorChain(graph, LAUNCHING_THREAD);
    }

    public List<Isolator> isolators() {
        return graph.order();
    }

    /**
     * Prepares every isolator; each starts as soon as the isolators it requires have finished. On
     * failure, waits for the ones already running (so nothing is still allocating), then throws the
     * first failure in chain order; the caller cleans up.
     *
     * @param contexts the context of each isolator for this container
     * @param seed     values of the keys the containerizer provides
     */
    public LaunchInfo prepare(Function<Isolator, ContainerContext> contexts, Map<Key<?>, Object> seed) {
        Map<Key<?>, Object> data = new ConcurrentHashMap<>(seed);
        Map<Isolator, CompletableFuture<LaunchInfo>> futures = new LinkedHashMap<>();
        for (Isolator isolator : graph.order()) {
            CompletableFuture<?>[] deps = graph.dependenciesOf(isolator).stream()
                    .map(futures::get).toArray(CompletableFuture[]::new);
            futures.put(isolator, CompletableFuture.allOf(deps).thenApplyAsync(
                    ignored -> prepareOne(isolator, new ChainPrepareContext(contexts.apply(isolator), isolator, data)),
                    prepareThreads));
        }
        CompletableFuture.allOf(futures.values().toArray(CompletableFuture[]::new))
                .exceptionally(failure -> null).join();

        LaunchInfoMerger merger = new LaunchInfoMerger();
        for (Map.Entry<Isolator, CompletableFuture<LaunchInfo>> entry : futures.entrySet()) {
            CompletableFuture<LaunchInfo> future = entry.getValue();
            if (future.isCompletedExceptionally()) {
                // a dependant of a failed isolator fails with the same error: the first is the root cause
                Throwable failure = Failures.unwrap(future.exceptionNow());
                throw failure instanceof VesselException ve ? ve
                        : Failures.of("isolator '" + entry.getKey().name() + "'", "prepare", failure);
            }
        }
        futures.forEach((isolator, future) -> merger.add(isolator.name(), future.join()));
        return merger.result();
    }

    private static LaunchInfo prepareOne(Isolator isolator, ChainPrepareContext context) {
        LaunchInfo info;
        try {
            info = isolator.prepare(context);
        } catch (Exception e) {
            throw Failures.of("isolator '" + isolator.name() + "'", "prepare", e);
        }
        for (Key<?> key : isolator.provides()) {
            if (!context.wrote(key)) {
                throw new VesselException(ErrorCode.INTERNAL, null, "isolator '" + isolator.name()
                        + "' declares it provides key " + key + " but did not set it in prepare");
            }
        }
        return info == null ? LaunchInfo.getDefaultInstance() : info;
    }

    /** Runs {@code isolate} in chain order; stops at the first failure. */
    public void isolate(Function<Isolator, ContainerContext> contexts, long pid) {
        for (Isolator isolator : graph.order()) {
            try {
                isolator.isolate(contexts.apply(isolator), pid);
            } catch (Exception e) {
                throw Failures.of("isolator '" + isolator.name() + "'", "isolate pid " + pid, e);
            }
        }
    }

    /** Updates limits in chain order; stops at the first failure. */
    public void update(Function<Isolator, ContainerContext> contexts, Resources resources) {
        for (Isolator isolator : graph.order()) {
            try {
                isolator.update(contexts.apply(isolator), resources);
            } catch (Exception e) {
                throw Failures.of("isolator '" + isolator.name() + "'", "update resources", e);
            }
        }
    }

    /** Freezes or thaws the container's processes; false when no isolator of the chain can. */
    public boolean freeze(Function<Isolator, ContainerContext> contexts, boolean frozen) {
        boolean done = false;
        for (Isolator isolator : graph.order()) {
            try {
                done |= isolator.freeze(contexts.apply(isolator), frozen);
            } catch (Exception e) {
                throw Failures.of("isolator '" + isolator.name() + "'", frozen ? "freeze" : "thaw", e);
            }
        }
        return done;
    }

    /** The container's host pids as the isolators that can tell report them, sorted, each once. */
    public List<Long> processes(Function<Isolator, ContainerContext> contexts) {
        java.util.TreeSet<Long> pids = new java.util.TreeSet<>();
        for (Isolator isolator : graph.order()) {
            try {
                pids.addAll(isolator.processes(contexts.apply(isolator)));
            } catch (Exception e) {
                throw Failures.of("isolator '" + isolator.name() + "'", "list processes", e);
            }
        }
        return List.copyOf(pids);
    }

    /** Completes with the first limitation any isolator reports. */
    public CompletableFuture<Limitation> watch(Function<Isolator, ContainerContext> contexts) {
        CompletableFuture<Limitation> first = new CompletableFuture<>();
        for (Isolator isolator : graph.order()) {
            isolator.watch(contexts.apply(isolator)).thenAccept(first::complete);
        }
        return first;
    }

    /** Every isolator's part of the statistics, merged in chain order. */
    public ResourceStatistics usage(Function<Isolator, ContainerContext> contexts) {
        ResourceStatistics.Builder merged = ResourceStatistics.newBuilder();
        for (Isolator isolator : graph.order()) {
            try {
                merged.mergeFrom(isolator.usage(contexts.apply(isolator)));
            } catch (Exception e) {
                throw Failures.of("isolator '" + isolator.name() + "'", "report usage", e);
            }
        }
        return merged.build();
    }

    /** Every isolator's part of the status (IP addresses...), merged in chain order. */
    public ContainerStatus status(Function<Isolator, ContainerContext> contexts) {
        ContainerStatus.Builder merged = ContainerStatus.newBuilder();
        for (Isolator isolator : graph.order()) {
            try {
                merged.mergeFrom(isolator.status(contexts.apply(isolator)));
            } catch (Exception e) {
                throw Failures.of("isolator '" + isolator.name() + "'", "report status", e);
            }
        }
        return merged.build();
    }

    /**
     * Cleans up in reverse chain order. Every isolator is asked even when one before it failed, so
     * one failure never leaks another isolator's resources; the failures are reported together.
     */
    public void cleanup(Function<Isolator, ContainerContext> contexts) {
        callEach(graph.order().reversed(), "clean up", isolator -> isolator.cleanup(contexts.apply(isolator)));
    }

    /**
     * At start-up: each isolator, in chain order, recovers the containers still alive and removes what
     * belongs to none. Every isolator is asked even when one before it failed; the failures are
     * reported together.
     */
    public void recover(Function<Isolator, List<ContainerContext>> containers) {
        callEach(graph.order(), "recover", isolator -> isolator.recover(containers.apply(isolator)));
    }

    /** One isolator's hook, which may fail with any exception. */
    private interface Hook {
        void call(Isolator isolator) throws Exception;
    }

    /**
     * Calls {@code hook} on each of {@code isolators} in turn, past any failure; then throws the failures
     * together, in that order, each named by its isolator and {@code action}.
     */
    private static void callEach(List<Isolator> isolators, String action, Hook hook) {
        List<Exception> failures = new ArrayList<>();
        List<String> messages = new ArrayList<>();
        for (Isolator isolator : isolators) {
            try {
                hook.call(isolator);
            } catch (Exception e) {
                VesselException failure = Failures.of("isolator '" + isolator.name() + "'", action, e);
                failures.add(failure);
                messages.add(failure.getMessage());
            }
        }
        if (!failures.isEmpty()) {
            VesselException all = new VesselException(ErrorCode.INTERNAL, null, String.join("; ", messages));
            failures.forEach(all::addSuppressed);
            throw all;
        }
    }
}
