package dev.vessel.launcher.process;

import dev.vessel.core.linux.ErrnoException;
import dev.vessel.core.linux.FdWatcher;
import dev.vessel.core.linux.LibC;
import dev.vessel.core.linux.Spawn;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A vessel-launch helper we started: spawned directly (see {@link Spawn}), its stdin and stdout
 * piped to us, its stderr appended to a log file. The helper closes every other descriptor it
 * inherits (see PROTOCOL.md). The JDK does not know this child, so its end is learnt and it is
 * reaped through a pidfd taken right after the spawn: an un-reaped child's pid cannot be reused, so
 * that pidfd is certainly the helper's.
 */
final class HelperProcess {
    private static final int LOG_MODE = 0666; // less the umask, as ProcessBuilder's Redirect.appendTo creates it

    private final long pid;
    private final int pidfd;
    private final OutputStream stdin;
    private final InputStream stdout;
    /** The exit status once reaped (the pidfd is then closed); -1 until then. Guarded by this. */
    private int status = -1;

    private HelperProcess(long pid, int pidfd, OutputStream stdin, InputStream stdout) {
        this.pid = pid;
        this.pidfd = pidfd;
        this.stdin = stdin;
        this.stdout = stdout;
    }

    /** Starts {@code helper}, its stderr appended to {@code stderrLog} (created if missing). */
    static HelperProcess start(Path helper, Path stderrLog) throws IOException {
        // Our ends and theirs are all close-on-exec: the spawn's dup2 gives the helper its copies as 0-2.
        int log = LibC.open(stderrLog.toString(), LibC.O_WRONLY | LibC.O_CREAT | LibC.O_APPEND | LibC.O_CLOEXEC,
                LOG_MODE);
        int[] in = null;
        int[] out = null;
        try {
            in = LibC.pipe2(LibC.O_CLOEXEC);
            out = LibC.pipe2(LibC.O_CLOEXEC);
            long pid = Spawn.spawn(helper, List.of(helper.toString()), in[0], out[1], log);
            int pidfd = -1;
            try {
                pidfd = LibC.pidfdOpen(pid);
                // The JDK cannot adopt a raw descriptor: opening the pipe again through procfs gives
                // streams with descriptors of their own, on the same pipes; the raw ones are closed below.
                OutputStream stdin = new FileOutputStream(procFd(in[1]));
                try {
                    return new HelperProcess(pid, pidfd, stdin, new FileInputStream(procFd(out[0])));
                } catch (IOException | RuntimeException e) {
                    stdin.close();
                    throw e;
                }
            } catch (IOException | RuntimeException e) {
                // Neither driven nor watched, it must not stay: our un-reaped child, the pid is still its.
                LibC.kill(pid, LibC.SIGKILL);
                LibC.waitExited(LibC.P_PID, pid);
                if (pidfd >= 0) {
                    LibC.close(pidfd);
                }
                throw e;
            }
        } finally {
            LibC.close(log);
            for (int[] pipe : new int[][] {in, out}) {
                if (pipe != null) {
                    LibC.close(pipe[0]);
                    LibC.close(pipe[1]);
                }
            }
        }
    }

    private static String procFd(int fd) {
        return "/proc/self/fd/" + fd;
    }

    long pid() {
        return pid;
    }

    /** Its stdin: the plan, then the release byte. */
    OutputStream stdin() {
        return stdin;
    }

    /** Its stdout: the reply lines. */
    InputStream stdout() {
        return stdout;
    }

    /**
     * Blocks until the helper exits, reaps it, closes the pidfd and returns its exit status (as
     * {@link Process#exitValue} gives it); at once when it was reaped already. One waiter at a time:
     * the launch while it runs, then {@link #onExit}. A native wait: outside those two, where the
     * helper has exited already or was just killed, it would pin a virtual thread's carrier.
     */
    int awaitExit() throws ErrnoException {
        synchronized (this) {
            if (status >= 0) {
                return status;
            }
        }
        int exited = LibC.waitExited(LibC.P_PIDFD, pidfd); // outside the lock: a kill must not wait for the exit
        synchronized (this) {
            status = exited;
            LibC.close(pidfd);
            return status;
        }
    }

    /** Completes with its exit status once it has exited, reaped (through the shared {@link FdWatcher}). */
    CompletableFuture<Integer> onExit() {
        try {
            return FdWatcher.shared().whenReadable(pidfd).thenApply(exited -> {
                try {
                    return awaitExit(); // it has exited: the wait returns at once
                } catch (ErrnoException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (ErrnoException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** SIGKILL, unless it was reaped already; before release the task dies with it (PDEATHSIG). */
    synchronized void kill() throws ErrnoException {
        if (status >= 0) {
            return;
        }
        try {
            LibC.pidfdSendSignal(pidfd, LibC.SIGKILL);
        } catch (ErrnoException e) {
            if (e.errno() != LibC.ESRCH) {
                throw e;
            }
        }
    }

    /** Closes our ends of its stdin and stdout. */
    void closeStreams() {
        try (stdin; stdout) {
            // closed on the way out
        } catch (IOException e) {
            // nothing left to flush: the plan and the release byte are flushed when written
        }
    }
}
