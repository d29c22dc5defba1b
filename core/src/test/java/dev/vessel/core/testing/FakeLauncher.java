package dev.vessel.core.testing;

import dev.vessel.core.checkpoint.CheckpointCodec;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ExecPlan;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;

/** A test double of the launcher SPI over a {@link FakeProcessTable}; checkpoints the pid like a real one. */
public final class FakeLauncher implements Launcher {
    /** The launcher's checkpoint: just the pid, 8 bytes, schema version 1. */
    public static final CheckpointCodec<Long> PID_CODEC = new CheckpointCodec<>() {
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

    /** The frames each channel this launcher handed out was sent, by container (or exec) id. */
    public final List<String> framesSent = new CopyOnWriteArrayList<>();

    @Override
    public StdioChannel attach(ContainerContext container) throws Exception {
        call("attach", container.containerId());
        return new Channel(container.containerId());
    }

    /**
     * An exec is one more fake process, whose pid is written into its directory as a real launcher
     * writes its records there; it ends when its container's task is destroyed, as the kernel ends the
     * processes of a pid namespace whose init is gone.
     */
    @Override
    public ExecutedProcess exec(ContainerContext container, ExecPlan plan) throws Exception {
        call("exec", container.containerId() + "/" + String.join(" ", plan.config().getCommandList()));
        FakeProcessTable.FakeProcess p = table.spawn();
        Files.writeString(plan.execDir().resolve("fake-pid"), Long.toString(p.pid));
        execsOf.computeIfAbsent(container.containerId(), k -> new CopyOnWriteArrayList<>()).add(p);
        return new Exec(plan.execId(), p);
    }

    @Override
    public Optional<ExecutedProcess> recoverExec(ContainerContext container, ExecPlan plan) throws Exception {
        log.add(name + ":recoverExec:" + container.containerId() + "/" + plan.execId());
        Path pidFile = plan.execDir().resolve("fake-pid");
        if (!Files.exists(pidFile)) {
            return Optional.empty();
        }
        FakeProcessTable.FakeProcess p = table.get(Long.parseLong(Files.readString(pidFile)));
        return p == null ? Optional.empty() : Optional.of(new Exec(plan.execId(), p));
    }

    private final java.util.Map<String, List<FakeProcessTable.FakeProcess>> execsOf = new ConcurrentHashMap<>();

    private final class Exec implements ExecutedProcess {
        private final String execId;
        private final FakeProcessTable.FakeProcess process;
        private final CompletableFuture<Integer> seenExit = new CompletableFuture<>();

        Exec(String execId, FakeProcessTable.FakeProcess process) {
            this.execId = execId;
            this.process = process;
            process.exit.thenAccept(t -> {
                if (!crashed) {
                    seenExit.complete(t.hasSignal() ? 128 + t.getSignal() : t.getExitCode());
                }
            });
        }

        @Override
        public long pid() {
            return process.pid;
        }

        @Override
        public CompletableFuture<Integer> exit() {
            return seenExit;
        }

        @Override
        public StdioChannel attach() {
            return new Channel(execId);
        }

        @Override
        public void signal(int signal) {
            table.signal(process.pid, signal);
        }
    }

    /** Records what is written to it; reads the process's EXIT once it has ended. */
    private final class Channel implements StdioChannel {
        private final String owner;
        private final LinkedBlockingQueue<StdioFrame> toRead = new LinkedBlockingQueue<>();

        Channel(String owner) {
            this.owner = owner;
        }

        @Override
        public StdioFrame read() throws IOException {
            try {
                return toRead.take();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
        }

        @Override
        public void write(StdioFrame frame) {
            framesSent.add(owner + ":" + frame.type() + (frame.type() == StdioFrame.Type.RESIZE
                    ? " " + frame.rows() + "x" + frame.columns() : ""));
        }

        @Override
        public void close() {
            framesSent.add(owner + ":closed");
        }
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
            for (FakeProcessTable.FakeProcess exec : execsOf.getOrDefault(containerId, List.of())) {
                if (!exec.exit.isDone()) {
                    table.signal(exec.pid, 9);
                }
            }
        }
    }
}
