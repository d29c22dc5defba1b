package dev.vessel.core.testing;

import dev.vessel.core.checkpoint.CheckpointCodec;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;

/** A test double of the launcher SPI over a {@link FakeProcessTable}; checkpoints the pid like a real one. */
public final class FakeLauncher implements Launcher {
    /** The launcher's checkpoint: just the pid, 8 bytes, schema version 1. */
    static final CheckpointCodec<Long> PID_CODEC = new CheckpointCodec<>() {
        @Override
        public int version() {
            return 1;
        }

        @Override
        public byte[] encode(Long pid) {
            return ByteBuffer.allocate(8).putLong(pid).array();
        }

        @Override
        public Long decode(int version, byte[] payload) {
            return ByteBuffer.wrap(payload).getLong();
        }
    };

    private final String name;
    private final Isolation isolation;
    private final FakeProcessTable table;
    private final CallLog log;
    private final Set<String> failing = ConcurrentHashMap.newKeySet();
    public volatile LaunchPlan lastPlan;
    private volatile boolean crashed;

    public FakeLauncher(String name, Isolation isolation, FakeProcessTable table, CallLog log) {
        this.name = name;
        this.isolation = isolation;
        this.table = table;
        this.log = log;
    }

    /** Its daemon died: the tasks it handed out stop reporting their exit to it. */
    public void crash() {
        crashed = true;
    }

    /** Makes "fork", "release" or "destroy" throw. */
    public FakeLauncher failOn(String hook) {
        failing.add(hook);
        return this;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Isolation isolation() {
        return isolation;
    }

    private void call(String hook, String containerId) throws Exception {
        log.add(name + ":" + hook + ":" + containerId);
        if (failing.contains(hook)) {
            throw new java.io.IOException(name + " was told to fail in " + hook);
        }
    }

    @Override
    public LaunchedTask fork(LaunchPlan plan) throws Exception {
        call("fork", plan.container().containerId());
        lastPlan = plan;
        FakeProcessTable.FakeProcess p = table.spawn();
        plan.container().checkpoint().save(PID_CODEC, p.pid);
        return new Task(plan.container().containerId(), p);
    }

    @Override
    public void removeOrphans(Set<String> liveContainerIds) {
        log.add(name + ":removeOrphans:" + String.join(",", new java.util.TreeSet<>(liveContainerIds)));
    }

    @Override
    public Optional<LaunchedTask> recover(ContainerContext container) throws Exception {
        log.add(name + ":recover:" + container.containerId());
        return container.checkpoint().load(PID_CODEC)
                .map(table::get)
                .map(p -> new Task(container.containerId(), p));
    }

    private final class Task implements LaunchedTask {
        private final String containerId;
        private final FakeProcessTable.FakeProcess process;

        Task(String containerId, FakeProcessTable.FakeProcess process) {
            this.containerId = containerId;
            this.process = process;
            process.exit.thenAccept(t -> {
                if (!crashed) {
                    seenExit.complete(t);
                }
            });
        }

        @Override
        public long pid() {
            return process.pid;
        }

        @Override
        public void release() throws Exception {
            call("release", containerId);
            process.released = true;
        }

        private final CompletableFuture<Termination> seenExit = new CompletableFuture<>();

        @Override
        public CompletableFuture<Termination> exit() {
            return seenExit;
        }

        @Override
        public void signal(int signal) throws Exception {
            call("signal" + signal, containerId);
            table.signal(process.pid, signal);
        }

        @Override
        public void destroy() throws Exception {
            call("destroy", containerId);
            table.signal(process.pid, 9);
        }
    }
}
