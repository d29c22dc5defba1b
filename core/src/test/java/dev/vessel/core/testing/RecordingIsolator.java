package dev.vessel.core.testing;

import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/** A test double of the isolator SPI: records every call, can be told to fail or to report a limit. */
public class RecordingIsolator implements Isolator {
    private final String name;
    private final CallLog log;
    private final Set<Key<?>> requires = new HashSet<>();
    private final Set<Key<?>> provides = new HashSet<>();
    private final Set<String> failing = ConcurrentHashMap.newKeySet();
    private final Map<String, CompletableFuture<Limitation>> watches = new ConcurrentHashMap<>();
    private Set<Isolation> appliesTo = Set.of(Isolation.PROCESS);
    private LaunchInfo launchInfo = LaunchInfo.getDefaultInstance();
    private Consumer<PrepareContext> onPrepare = ctx -> { };
    private Consumer<ContainerContext> onCleanup = ctx -> { };
    private ResourceStatistics usage = ResourceStatistics.getDefaultInstance();
    private ContainerStatus status = ContainerStatus.getDefaultInstance();
    private boolean freezes;
    public volatile List<ContainerContext> recovered;

    public RecordingIsolator(String name, CallLog log) {
        this.name = name;
        this.log = log;
    }

    public RecordingIsolator applyingTo(Isolation... isolations) {
        appliesTo = Set.of(isolations);
        return this;
    }

    @Override
    public boolean appliesTo(Isolation isolation) {
        return appliesTo.contains(isolation);
    }

    public RecordingIsolator requires(Key<?>... keys) {
        requires.addAll(List.of(keys));
        return this;
    }

    public RecordingIsolator provides(Key<?>... keys) {
        provides.addAll(List.of(keys));
        return this;
    }

    /** Makes the named hook ("prepare", "isolate", "cleanup", "update", "recover", "freeze") throw. */
    public RecordingIsolator failOn(String hook) {
        failing.add(hook);
        return this;
    }

    public RecordingIsolator healed() {
        failing.clear();
        return this;
    }

    /** Makes it a freezer: {@code freeze} answers that it froze (or thawed) the container. */
    public RecordingIsolator freezing() {
        this.freezes = true;
        return this;
    }

    public RecordingIsolator returning(LaunchInfo info) {
        this.launchInfo = info;
        return this;
    }

    public RecordingIsolator onPrepare(Consumer<PrepareContext> action) {
        this.onPrepare = action;
        return this;
    }

    /** Runs {@code action} in each cleanup, after recording it (a test may hold the cleanup there). */
    public RecordingIsolator onCleanup(Consumer<ContainerContext> action) {
        this.onCleanup = action;
        return this;
    }

    public RecordingIsolator reporting(ResourceStatistics stats) {
        this.usage = stats;
        return this;
    }

    public RecordingIsolator reporting(ContainerStatus partial) {
        this.status = partial;
        return this;
    }

    /** Completes the watch of a container with a limitation, as an OOM notification would. */
    public void limit(String containerId, Limitation limitation) {
        watches.computeIfAbsent(containerId, id -> new CompletableFuture<>()).complete(limitation);
    }

    private void call(String hook, String containerId) throws Exception {
        log.add(name + ":" + hook + ":" + containerId);
        if (failing.contains(hook)) {
            throw new java.io.IOException(name + " was told to fail in " + hook);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Set<Key<?>> requires() {
        return requires;
    }

    @Override
    public Set<Key<?>> provides() {
        return provides;
    }

    @Override
    public void recover(List<ContainerContext> containers) throws Exception {
        recovered = containers;
        call("recover", String.join(",", containers.stream().map(ContainerContext::containerId).sorted().toList()));
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws Exception {
        call("prepare", context.containerId());
        onPrepare.accept(context);
        return launchInfo;
    }

    @Override
    public void isolate(ContainerContext context, long pid) throws Exception {
        call("isolate", context.containerId());
    }

    @Override
    public CompletableFuture<Limitation> watch(ContainerContext context) {
        return watches.computeIfAbsent(context.containerId(), id -> new CompletableFuture<>());
    }

    @Override
    public void update(ContainerContext context, Resources resources) throws Exception {
        call("update", context.containerId());
    }

    @Override
    public boolean freeze(ContainerContext context, boolean frozen) throws Exception {
        if (!freezes) {
            return false;
        }
        call(frozen ? "freeze" : "thaw", context.containerId());
        return true;
    }

    @Override
    public ResourceStatistics usage(ContainerContext context) throws Exception {
        call("usage", context.containerId());
        return usage;
    }

    @Override
    public ContainerStatus status(ContainerContext context) throws Exception {
        call("status", context.containerId());
        return status;
    }

    @Override
    public void cleanup(ContainerContext context) throws Exception {
        call("cleanup", context.containerId());
        onCleanup.accept(context);
    }
}
