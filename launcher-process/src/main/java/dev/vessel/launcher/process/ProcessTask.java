package dev.vessel.launcher.process;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.linux.ErrnoException;
import dev.vessel.core.linux.LibC;
import dev.vessel.core.model.Termination;
import dev.vessel.core.spi.LaunchedTask;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One task started by vessel-launch. Its end is learnt from the monitor: when the monitor process
 * exits, its exit file is complete. A forked task's monitor is our child, which we reap once it
 * exits (see {@link HelperProcess}); after a restart it is not, and a pidfd only tells when it exits.
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
    static ProcessTask forked(Path exitFile, ProcessTaskCheckpoint c, HelperPlan plan, HelperProcess helper,
            Path monitorLog) {
        ProcessTask t = new ProcessTask(exitFile, c.getTaskPid(), c.getTaskStartTime(), plan, monitorLog);
        t.control = helper.stdin();
        t.replies = helper.stdout();
        // our child: reaped once it exits, or it would stay a zombie
        t.watchMonitor(c.getHelperPid(), () -> "status " + helper.awaitExit());
        return t;
    }

    /** Found again after a restart with its monitor alive. */
    static ProcessTask recovered(Path exitFile, ProcessTaskCheckpoint c, Path monitorLog) {
        ProcessTask t = new ProcessTask(exitFile, c.getTaskPid(), c.getTaskStartTime(), null, monitorLog);
        t.watchMonitor(c.getHelperPid(), () -> {
            try {
                int pidfd = LibC.pidfdOpen(c.getHelperPid());
                try {
                    // The pidfd names whatever has the pid now: it is our monitor only if the start time matches.
                    if (ProcStat.isSame(c.getHelperPid(), c.getHelperStartTime())) {
                        LibC.awaitReadable(pidfd);
                    }
                } finally {
                    LibC.close(pidfd);
                }
            } catch (ErrnoException e) {
                if (e.errno() != LibC.ESRCH) {
                    throw e;
                }
            }
            return "not our child";
        });
        return t;
    }

    /** Waits until the monitor exits, then how it ended ("status 0"); for the message of a missing exit file. */
    @FunctionalInterface
    private interface MonitorWait {
        String await() throws IOException;
    }

    /**
     * Completes {@link #exit} from the exit file once {@code wait} says the monitor {@code helperPid}
     * exited. A native wait pins a virtual thread's carrier, so this waits on a platform thread: one
     * per running task, as the JDK's own process reaper has.
     */
    private void watchMonitor(long helperPid, MonitorWait wait) {
        Thread.ofPlatform().daemon().name("monitor-" + helperPid).start(() -> {
            String how;
            try {
                how = wait.await();
            } catch (IOException | RuntimeException e) {
                exit.completeExceptionally(e);
                return;
            }
            monitorExited(how);
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
