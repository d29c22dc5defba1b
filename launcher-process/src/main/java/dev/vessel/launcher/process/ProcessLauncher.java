package dev.vessel.launcher.process;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.Trees;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ExecPlan;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.linux.ProcStat;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ProcessBuilder.Redirect;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Launches process containers through the native helper {@code vessel-launch} (see PROTOCOL.md):
 * the plan goes to its stdin, it answers {@code pid N} with the task blocked, and the release byte
 * lets the task exec. The helper then stays as the task's monitor and records the exit status in
 * the container's directory, so a task outlives a daemon crash and its end is never lost. Its monitor
 * also serves the task's stdio on an attach socket ({@link #attach}), and an exec is a second helper
 * whose plan enters the task's namespaces ({@link ExecPlans}).
 */
public final class ProcessLauncher implements Launcher, AutoCloseable {
    static final ProtoCodec<ProcessTaskCheckpoint> CODEC = ProtoCodec.of(1, ProcessTaskCheckpoint.parser());

    private final RuntimePaths paths;
    private final Path helper;
    private final long logCap;
    /** Whether each launch starts the next one's helper behind it ({@link #keepingSpareHelper}). */
    private final boolean keepsSpare;
    private volatile boolean closed;
    /**
     * A helper started ahead ({@link #startSpareHelper}), waiting for its plan on stdin: the next launch or exec takes
     * it, so that the spawn (two execs, through the JDK's {@code jspawnhelper}) is off its path. Never used, it exits
     * when its stdin closes, with this JVM.
     */
    private final AtomicReference<Process> spare = new AtomicReference<>();

    /** {@code helper}: the vessel-launch binary (see {@link LaunchHelper#install}). */
    public ProcessLauncher(RuntimePaths paths, Path helper) {
        this(paths, helper, PlanBuilder.DEFAULT_LOG_CAP, false);
    }

    /** {@code logCap}: the size at which each of stdout.log and stderr.log is rotated. */
    private ProcessLauncher(RuntimePaths paths, Path helper, long logCap, boolean keepsSpare) {
        if (!Files.isExecutable(helper)) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "launcher", "the launch helper " + helper
                    + " is not an executable file");
        }
        this.paths = paths;
        this.helper = helper;
        this.logCap = logCap;
        this.keepsSpare = keepsSpare;
    }

    /** A launcher with the helper bundled in this jar, installed at {@link RuntimePaths#launchHelper()}. */
    public static ProcessLauncher withBundledHelper(RuntimePaths paths) throws IOException {
        return new ProcessLauncher(paths, LaunchHelper.install(paths.launchHelper()));
    }

    /** This launcher keeping a helper started ahead of each launch, from its first launch on (a node's). */
    public ProcessLauncher keepingSpareHelper() {
        return new ProcessLauncher(paths, helper, logCap, true);
    }

    /**
     * Starts a helper now for the next launch to take, unless one waits already (a warm guest's, once warmed up).
     * Best effort: when it cannot, the next launch spawns its own and says why if that fails too.
     */
    public void startSpareHelper() {
        if (closed || spare.get() != null) {
            return;
        }
        try {
            Process next = spawnHelper();
            if (!spare.compareAndSet(null, next)) {
                discard(next); // a concurrent launch's spare came first
            } else if (closed) {
                close(); // closed while it started: it goes too
            }
        } catch (IOException e) {
            // see above
        }
    }

    /** Ends the spare helper, and starts none from now on. */
    @Override
    public void close() {
        closed = true;
        Process left = spare.getAndSet(null);
        if (left != null) {
            discard(left);
        }
    }

    @Override
    public String name() {
        return "process";
    }

    @Override
    public Isolation isolation() {
        return Isolation.PROCESS;
    }

    @Override
    public LaunchedTask fork(LaunchPlan launch) throws Exception {
        Path dir = launch.container().containerDir();
        HelperPlan plan = PlanBuilder.build(launch, monitorFiles(dir), logCap, attachSocket(dir).toString());
        Started started = start(plan, dir);
        try {
            // what an exec needs later, also after a restart: the launch info is not kept anywhere else
            ProcessTaskCheckpoint checkpoint = started.checkpoint().toBuilder()
                    .setExecBase(ExecPlans.base(plan, launch.launchInfo())).build();
            launch.container().checkpoint().save(CODEC, checkpoint);
            return ProcessTask.forked(paths.exitFile(dir), checkpoint, plan, started.process(), paths.monitorLog(dir));
        } catch (Exception | Error e) {
            started.abort();
            throw e;
        }
    }

    @Override
    public Optional<LaunchedTask> recover(ContainerContext container) throws Exception {
        return recoverIn(container.containerDir(), container.checkpoint()).map(t -> t);
    }

    @Override
    public StdioChannel attach(ContainerContext container) throws Exception {
        return MonitorStdio.connect(paths.attachSocket(container.containerDir()), container.containerId());
    }

    @Override
    public ExecutedProcess exec(ContainerContext container, ExecPlan exec) throws Exception {
        return exec(container, exec, false).process();
    }

    /** The exec's monitor serves its socket before it says "pid": attached before the release, nothing is missed. */
    @Override
    public AttachedExec execAttached(ContainerContext container, ExecPlan exec) throws Exception {
        return exec(container, exec, true);
    }

    private AttachedExec exec(ContainerContext container, ExecPlan exec, boolean attach) throws Exception {
        String name = container.containerId() + " exec " + exec.execId();
        ProcessTaskCheckpoint task = container.checkpoint().load(CODEC)
                .filter(c -> ProcStat.isSame(c.getTaskPid(), c.getTaskStartTime()))
                .orElseThrow(() -> new VesselException(ErrorCode.FAILED_PRECONDITION, container.containerId(),
                        "has no running task to exec in"));
        if (!task.hasExecBase()) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, container.containerId(), "its task was started"
                    + " by an earlier version of the launcher, which kept nothing an exec needs");
        }
        Path dir = exec.execDir();
        Trees.createDirectories(dir);
        HelperPlan plan = ExecPlans.build(task.getExecBase(), container.config(), exec.config(), task.getTaskPid(),
                monitorFiles(dir), attachSocket(dir).toString(), logCap);
        Started started = start(plan, dir);
        ProcessTask process;
        StdioChannel stdio = null;
        try {
            // The helper opened the task's namespace files before it said "pid": they are this task's if the
            // task is still the one (its pid cannot name another while it lives).
            if (!ProcStat.isSame(task.getTaskPid(), task.getTaskStartTime())) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, container.containerId(),
                        "its task ended before the exec could join it");
            }
            exec.checkpoint().save(CODEC, started.checkpoint());
            process = ProcessTask.forked(paths.exitFile(dir), started.checkpoint(), plan, started.process(),
                    paths.monitorLog(dir));
            if (attach) {
                stdio = MonitorStdio.connect(paths.attachSocket(dir), name);
            }
        } catch (Exception | Error e) {
            started.abort();
            throw e;
        }
        try {
            process.release(); // a failed execve is the error of this call; the exit file says it too
        } catch (Exception | Error e) {
            if (stdio != null) {
                stdio.close();
            }
            throw e;
        }
        return new AttachedExec(new ProcessExec(name, process, paths.attachSocket(dir)), stdio);
    }

    @Override
    public Optional<ExecutedProcess> recoverExec(ContainerContext container, ExecPlan exec) throws Exception {
        Path dir = exec.execDir();
        String name = container.containerId() + " exec " + exec.execId();
        return recoverIn(dir, exec.checkpoint())
                .map(t -> new ProcessExec(name, t, paths.attachSocket(dir)));
    }

    /**
     * At start-up: removes the attach sockets under the run dir that no monitor serves any more (one that
     * was killed leaves its socket; a socket in a container's directory goes with the directory).
     */
    @Override
    public void removeOrphans(Set<String> liveContainerIds) throws Exception {
        for (Path socket : paths.attachSockets()) {
            try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                // served: a monitor takes this as a client that detached at once
            } catch (SocketException e) { // refused: its monitor is gone
                Files.deleteIfExists(socket);
            }
        }
    }

    /** The task (or exec) of {@code dir}, from its exit file or its live monitor. */
    private Optional<ProcessTask> recoverIn(Path dir, Checkpoint slot) throws IOException {
        Path exitFile = paths.exitFile(dir);
        Optional<ProcessTaskCheckpoint> checkpoint = slot.load(CODEC);
        long pid = checkpoint.map(ProcessTaskCheckpoint::getTaskPid).orElse(0L);
        if (Files.exists(exitFile)) {
            return Optional.of(ProcessTask.ended(exitFile, pid));
        }
        if (checkpoint.isEmpty()) {
            return Optional.empty(); // the crash came before the helper said "pid": it aborted on EOF
        }
        ProcessTaskCheckpoint c = checkpoint.get();
        if (ProcStat.isSame(c.getHelperPid(), c.getHelperStartTime())) {
            return Optional.of(ProcessTask.recovered(exitFile, c, paths.monitorLog(dir)));
        }
        if (Files.exists(exitFile)) {
            return Optional.of(ProcessTask.ended(exitFile, pid)); // it ended while we looked
        }
        // monitor gone without an exit file: the task died with it (PDEATHSIG), its socket is left
        Files.deleteIfExists(paths.attachSocket(dir));
        return Optional.empty();
    }

    /** A helper that answered "pid": the task is blocked until released, or dies with the helper. */
    private record Started(Process process, ProcessTaskCheckpoint checkpoint) {
        void abort() throws InterruptedException {
            process.destroyForcibly(); // before release the task dies with it (PDEATHSIG)
            process.waitFor();
            try {
                process.getOutputStream().close();
                process.getInputStream().close();
            } catch (IOException e) {
                // gone already
            }
        }
    }

    /** Starts the helper with {@code plan} and reads its {@code pid}; its monitor's files are in {@code dir}. */
    private Started start(HelperPlan plan, Path dir) throws Exception {
        byte[] encoded = LaunchPlanEncoder.encode(plan);
        Process process = helperProcess();
        OutputStream stdin = process.getOutputStream();
        InputStream stdout = process.getInputStream();
        try {
            try {
                stdin.write(encoded);
                stdin.flush();
            } catch (IOException e) {
                // the helper refused the plan and left early: its reply line says why
            }
            String reply = HelperReplies.readLine(stdout);
            if (reply == null || !reply.startsWith("pid ")) {
                int status = process.waitFor();
                throw HelperReplies.failure(reply, status, plan, paths.monitorLog(dir));
            }
            long taskPid = Long.parseLong(reply.substring(4).trim());
            // Neither can be reaped before release (the helper waits for it, and only the helper reaps the
            // task), so these are certainly theirs, also of a task that already failed its setup (a zombie).
            return new Started(process, ProcessTaskCheckpoint.newBuilder()
                    .setHelperPid(process.pid())
                    .setHelperStartTime(ProcStat.startTimeOfUnreaped(process.pid()).orElseThrow())
                    .setTaskPid(taskPid)
                    .setTaskStartTime(ProcStat.startTimeOfUnreaped(taskPid).orElseThrow())
                    .build());
        } catch (Exception | Error e) {
            new Started(process, null).abort();
            throw e;
        }
    }

    /**
     * A helper waiting for its plan: the spare when there is one and it runs, else a new one; with
     * {@link #keepsSpare}, the next spare starts behind it.
     */
    private Process helperProcess() throws IOException {
        Process ready = spare.getAndSet(null);
        if (ready != null && !ready.isAlive()) {
            discard(ready); // killed by someone: its plan would go nowhere
            ready = null;
        }
        if (ready == null) {
            ready = spawnHelper();
        }
        if (keepsSpare) {
            Thread.ofVirtual().name("vessel-launch-spare").start(this::startSpareHelper);
        }
        return ready;
    }

    /**
     * The helper, waiting for its plan. Its stderr is /dev/null until it has read the plan and then the plan's
     * monitor log (it may start before its container exists), where its diagnostics are kept.
     */
    private Process spawnHelper() throws IOException {
        return new ProcessBuilder(helper.toString()).redirectError(Redirect.DISCARD).start();
    }

    /** Ends a helper that never got a plan: EOF on its stdin makes it exit; the kill, if it was stopped. */
    private static void discard(Process helper) {
        try {
            helper.getOutputStream().close();
            helper.getInputStream().close();
        } catch (IOException e) {
            // gone already
        }
        helper.destroyForcibly();
    }

    /** The attach socket of the task or exec of {@code dir}; its directory under the run dir made if needed. */
    private Path attachSocket(Path dir) throws IOException {
        Path socket = paths.attachSocket(dir);
        if (!socket.getParent().equals(dir)) {
            Files.createDirectories(socket.getParent(),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        return socket;
    }

    /** The files the helper's monitor writes for the task in {@code dir}, named by RuntimePaths. */
    private HelperPlan.MonitorFiles monitorFiles(Path dir) {
        return new HelperPlan.MonitorFiles(paths.exitFile(dir).toString(),
                paths.stdoutLog(dir).toString(), paths.stderrLog(dir).toString(),
                paths.monitorLog(dir).toString());
    }
}
