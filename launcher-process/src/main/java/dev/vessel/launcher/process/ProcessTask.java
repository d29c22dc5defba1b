package dev.vessel.launcher.process;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Termination;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.FdWatcher;
import dev.vessel.linux.LibC;
import dev.vessel.linux.ProcStat;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One task started by vessel-launch. Its end is learnt from the monitor: when the monitor process
 * exits, its exit file is complete. A forked task's monitor is our child, which we reap once it
 * exits (the JDK reaps it); after a restart it is not, and a pidfd only tells when it exits.
 */
final class ProcessTask implements LaunchedTask {
    private static final int SIGKILL = 9;
    /** A SIGKILLed pid namespace is gone in milliseconds; this only bounds a stuck kernel or monitor. */
    private static final long DESTROY_TIMEOUT_SECONDS = 30;

    private final Path exitFile;
    private final long taskPid;
    private final long taskStartTime;
    private final CompletableFuture<Termination> exit = new CompletableFuture<>();
    /** The plan it was forked with, to name the field a failed release concerns; null after a restart. */
    private final HelperPlan plan;
    private final Path monitorLog;
    /** The helper's control pipes: set from fork until release (or abort), null afterwards. */
    private OutputStream control;
    private InputStream replies;

    private ProcessTask(Path exitFile, long taskPid, long taskStartTime, HelperPlan plan, Path monitorLog) {
        this.exitFile = exitFile;
        this.taskPid = taskPid;
        this.taskStartTime = taskStartTime;
        this.plan = plan;
        this.monitorLog = monitorLog;
    }

    /** Just forked: blocked until {@link #release()}, its monitor our child. */
    static ProcessTask forked(Path exitFile, ProcessTaskCheckpoint c, HelperPlan plan, Process helper,
            Path monitorLog) {
        ProcessTask t = new ProcessTask(exitFile, c.getTaskPid(), c.getTaskStartTime(), plan, monitorLog);
        t.control = helper.getOutputStream();
        t.replies = helper.getInputStream();
        // our child: reaped once it exits, or it would stay a zombie
        t.whenMonitorEnds(helper.onExit().thenApply(p -> "status " + p.exitValue()));
        return t;
    }

    /** Found again after a restart with its monitor alive. */
    static ProcessTask recovered(Path exitFile, ProcessTaskCheckpoint c, Path monitorLog) {
        ProcessTask t = new ProcessTask(exitFile, c.getTaskPid(), c.getTaskStartTime(), null, monitorLog);
        String how = "not our child";
        CompletableFuture<String> ended;
        try {
            int pidfd = LibC.pidfdOpen(c.getHelperPid());
            // The pidfd names whatever has the pid now: it is our monitor only if the start time matches.
            if (ProcStat.isSame(c.getHelperPid(), c.getHelperStartTime())) {
                ended = FdWatcher.shared().whenReadable(pidfd).handle((exited, e) -> {
                    LibC.close(pidfd);
                    if (e != null) {
                        throw new CompletionException(e);
                    }
                    return how;
                });
            } else {
                LibC.close(pidfd);
                ended = CompletableFuture.completedFuture(how);
            }
        } catch (ErrnoException e) {
            ended = e.errno() == LibC.ESRCH ? CompletableFuture.completedFuture(how) : CompletableFuture.failedFuture(e);
        }
        t.whenMonitorEnds(ended);
        return t;
    }

    /** Completes {@link #exit} from the exit file once the monitor has ended ({@code how}: for a missing file's message). */
    private void whenMonitorEnds(CompletableFuture<String> how) {
        how.whenComplete((ended, error) -> {
            if (error != null) {
                exit.completeExceptionally(error instanceof CompletionException ce && ce.getCause() != null
                        ? ce.getCause() : error);
            } else {
                monitorExited(ended);
            }
        });
    }

    /** Ended (exit file written) before anyone looked. */
    static ProcessTask ended(Path exitFile, long taskPid) {
        ProcessTask t = new ProcessTask(exitFile, taskPid, 0, null, null);
        t.monitorExited("already exited");
        return t;
    }

    private void monitorExited(String how) {
        try {
            ExitFile.read(exitFile).ifPresentOrElse(exit::complete, () -> exit.completeExceptionally(
                    new VesselException(ErrorCode.INTERNAL, "launcher", "the monitor of task " + taskPid
                            + " ended (" + how + ") without writing an exit file; see " + monitorLog)));
        } catch (RuntimeException e) {
            exit.completeExceptionally(e);
        }
    }

    @Override
    public long pid() {
        return taskPid;
    }

    @Override
    public synchronized void release() throws IOException {
        if (control == null) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "launcher", "task " + taskPid
                    + " was already released or aborted");
        }
        String reply;
        try {
            control.write('G');
            control.flush();
            reply = HelperReplies.readLine(replies);
        } finally {
            closeControl();
        }
        if (!"ok".equals(reply)) {
            // The monitor records the same failure in the exit file and exits.
            throw HelperReplies.failure(reply, -1, plan, monitorLog);
        }
    }

    @Override
    public CompletableFuture<Termination> exit() {
        return exit;
    }

    @Override
    public void signal(int signal) throws IOException {
        // A pid is only ours while its start time matches; an ended task has nothing left to signal.
        if (exit.isDone() || !ProcStat.isSame(taskPid, taskStartTime)) {
            return;
        }
        try {
            LibC.kill(taskPid, signal);
        } catch (ErrnoException e) {
            if (e.errno() != LibC.ESRCH) {
                throw e;
            }
        }
    }

    @Override
    public void destroy() throws Exception {
        synchronized (this) {
            if (control != null) {
                closeControl(); // not released yet: EOF makes the helper kill the task and exit
            }
        }
        // The task is pid 1 of its namespace: SIGKILL to it makes the kernel kill every process in it.
        signal(SIGKILL);
        try {
            exit.handle((t, e) -> null).get(DESTROY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new VesselException(ErrorCode.INTERNAL, "launcher", "task " + taskPid + " survived SIGKILL for "
                    + DESTROY_TIMEOUT_SECONDS + " s");
        }
    }

    private void closeControl() {
        try {
            control.close();
            replies.close();
        } catch (IOException e) {
            // the helper is gone already; nothing left to close
        } finally {
            control = null;
            replies = null;
        }
    }
}
