package dev.vessel.launcher.process;

import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.io.OutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Launches process containers through the native helper {@code vessel-launch} (see PROTOCOL.md):
 * the plan goes to its stdin, it answers {@code pid N} with the task blocked, and the release byte
 * lets the task exec. The helper then stays as the task's monitor and records the exit status in
 * the container's directory, so a task outlives a daemon crash and its end is never lost.
 */
public final class ProcessLauncher implements Launcher {
    static final ProtoCodec<ProcessTaskCheckpoint> CODEC = ProtoCodec.of(1, ProcessTaskCheckpoint.parser());

    private final RuntimePaths paths;
    private final Path helper;
    private final long logCap;

    /** {@code helper}: the vessel-launch binary (see {@link LaunchHelper#install}). */
    public ProcessLauncher(RuntimePaths paths, Path helper) {
        this(paths, helper, PlanBuilder.DEFAULT_LOG_CAP);
    }

    /** {@code logCap}: the size at which each of stdout.log and stderr.log is rotated. */
    public ProcessLauncher(RuntimePaths paths, Path helper, long logCap) {
        if (!Files.isExecutable(helper)) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "launcher", "the launch helper " + helper
                    + " is not an executable file");
        }
        this.paths = paths;
        this.helper = helper;
        this.logCap = logCap;
    }

    /** A launcher with the helper bundled in this jar, installed at {@link RuntimePaths#launchHelper()}. */
    public static ProcessLauncher withBundledHelper(RuntimePaths paths) throws IOException {
        return new ProcessLauncher(paths, LaunchHelper.install(paths.launchHelper()));
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
        HelperPlan plan = PlanBuilder.build(launch, monitorFiles(dir), logCap);
        byte[] encoded = LaunchPlanEncoder.encode(plan);
        // Until the task runs, the helper's stderr carries diagnostics; keep them with the monitor's log.
        Process process = new ProcessBuilder(helper.toString())
                .redirectError(Redirect.appendTo(paths.monitorLog(dir).toFile()))
                .start();
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
            ProcessTaskCheckpoint checkpoint = ProcessTaskCheckpoint.newBuilder()
                    .setHelperPid(process.pid())
                    .setHelperStartTime(ProcStat.startTimeOfUnreaped(process.pid()).orElseThrow())
                    .setTaskPid(taskPid)
                    .setTaskStartTime(ProcStat.startTimeOfUnreaped(taskPid).orElseThrow())
                    .build();
            launch.container().checkpoint().save(CODEC, checkpoint);
            return ProcessTask.forked(paths.exitFile(dir), checkpoint, plan, process, paths.monitorLog(dir));
        } catch (Exception | Error e) {
            process.destroyForcibly(); // before release the task dies with it (PDEATHSIG)
            process.waitFor();
            stdin.close();
            stdout.close();
            throw e;
        }
    }

    @Override
    public Optional<LaunchedTask> recover(ContainerContext container) throws Exception {
        Path exitFile = paths.exitFile(container.containerDir());
        Optional<ProcessTaskCheckpoint> checkpoint = container.checkpoint().load(CODEC);
        long pid = checkpoint.map(ProcessTaskCheckpoint::getTaskPid).orElse(0L);
        if (Files.exists(exitFile)) {
            return Optional.of(ProcessTask.ended(exitFile, pid));
        }
        if (checkpoint.isEmpty()) {
            return Optional.empty(); // the crash came before the helper said "pid": it aborted on EOF
        }
        ProcessTaskCheckpoint c = checkpoint.get();
        if (ProcStat.isSame(c.getHelperPid(), c.getHelperStartTime())) {
            return Optional.of(ProcessTask.recovered(exitFile, c, paths.monitorLog(container.containerDir())));
        }
        if (Files.exists(exitFile)) {
            return Optional.of(ProcessTask.ended(exitFile, pid)); // it ended while we looked
        }
        return Optional.empty(); // monitor gone without an exit file: the task died with it (PDEATHSIG)
    }

    /** The files the helper's monitor writes for the task in {@code containerDir}, named by RuntimePaths. */
    private HelperPlan.MonitorFiles monitorFiles(Path containerDir) {
        return new HelperPlan.MonitorFiles(paths.exitFile(containerDir).toString(),
                paths.stdoutLog(containerDir).toString(), paths.stderrLog(containerDir).toString(),
                paths.monitorLog(containerDir).toString());
    }
}
