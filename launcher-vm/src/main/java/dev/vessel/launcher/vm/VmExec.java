package dev.vessel.launcher.vm;

import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.stdio.StdioChannel;
import java.util.concurrent.CompletableFuture;

/** A process run inside a guest task's container by the guest: no pid on the host, its end reported by the guest. */
final class VmExec implements ExecutedProcess {
    private final GuestTaskStdio task;
    private final String execId;
    private final CompletableFuture<Integer> exit;

    VmExec(GuestTaskStdio task, String execId, CompletableFuture<Integer> exit) {
        this.task = task;
        this.execId = execId;
        this.exit = exit;
    }

    @Override
    public long pid() {
        return 0;
    }

    @Override
    public CompletableFuture<Integer> exit() {
        return exit;
    }

    @Override
    public StdioChannel attach() throws Exception {
        return task.openStdio(execId, exit);
    }

    @Override
    public void signal(int signal) throws Exception {
        if (!exit.isDone()) {
            task.signalExec(execId, signal);
        }
    }
}
