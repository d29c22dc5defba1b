package dev.vessel.launcher.process;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * A vessel-launch helper we started: its stdin and stdout piped to us, its stderr appended to a log
 * file. Started through the JDK's {@link ProcessBuilder}, which reaps it: a direct posix_spawn
 * through the FFM API saved ≈1 ms per launch on a host, but put the FFM runtime's start-up (a new
 * downcall stub per native signature) on the first launch in every guest, where, interpreted under
 * TCG, it cost seconds. The helper closes every descriptor it inherits above 2 and resets its
 * signals itself (see PROTOCOL.md), so how it is started does not matter to it.
 */
final class HelperProcess {
    private final Process process;

    private HelperProcess(Process process) {
        this.process = process;
    }

    /** Starts {@code helper}, its stderr appended to {@code stderrLog} (created if missing). */
    static HelperProcess start(Path helper, Path stderrLog) throws IOException {
        return new HelperProcess(new ProcessBuilder(helper.toString())
                .redirectError(Redirect.appendTo(stderrLog.toFile())).start());
    }

    long pid() {
        return process.pid();
    }

    /** Its stdin: the plan, then the release byte. */
    OutputStream stdin() {
        return process.getOutputStream();
    }

    /** Its stdout: the reply lines. */
    InputStream stdout() {
        return process.getInputStream();
    }

    /** Blocks until the helper exits (the JDK reaps it); returns its exit status. */
    int awaitExit() throws InterruptedException {
        return process.waitFor();
    }

    /** Completes with its exit status once it has exited and was reaped. */
    CompletableFuture<Integer> onExit() {
        return process.onExit().thenApply(Process::exitValue);
    }

    /** SIGKILL; before release the task dies with it (PDEATHSIG). */
    void kill() {
        process.destroyForcibly();
    }

    /** Closes our ends of its stdin and stdout. */
    void closeStreams() {
        try (OutputStream in = stdin(); InputStream out = stdout()) {
            // closed on the way out
        } catch (IOException e) {
            // nothing left to flush: the plan and the release byte are flushed when written
        }
    }
}
