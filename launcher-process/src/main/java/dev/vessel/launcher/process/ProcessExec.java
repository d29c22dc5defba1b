package dev.vessel.launcher.process;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.stdio.StdioChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/** A process exec'd into a container's task by vessel-launch: its own monitor, exit file and attach socket. */
final class ProcessExec implements ExecutedProcess {
    private final String name;
    private final ProcessTask process;
    private final Path attachSocket;
    private final CompletableFuture<Integer> exit;

    ProcessExec(String name, ProcessTask process, Path attachSocket) {
        this.name = name;
        this.process = process;
        this.attachSocket = attachSocket;
        this.exit = process.exit().thenApply(t -> status(name, t));
    }

    /** A termination as a shell reports it: the exit code, or 128 + the signal. */
    static int status(String name, Termination t) {
        if (t.getReason() != TerminationReason.EXITED) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, name, t.getMessage());
        }
        return t.getStatusCase() == Termination.StatusCase.SIGNAL ? 128 + t.getSignal() : t.getExitCode();
    }

    @Override
    public long pid() {
        return process.pid();
    }

    @Override
    public CompletableFuture<Integer> exit() {
        return exit;
    }

    @Override
    public StdioChannel attach() throws Exception {
        return MonitorStdio.connect(attachSocket, name);
    }

    @Override
    public void signal(int signal) throws Exception {
        process.signal(signal);
    }
}
