package dev.vessel.core.spi;

import dev.vessel.core.model.Termination;
import java.util.concurrent.CompletableFuture;

/** A task a launcher forked (or found again after a restart). */
public interface LaunchedTask {
    /** The task's pid on this node (for a VM task, the VM's process). */
    long pid();

    /** Lets a freshly forked task continue past its sync point, once every isolator has run. */
    void release() throws Exception;

    /** Completes with the task's exit code or signal (reason {@code EXITED}) when it ends. */
    CompletableFuture<Termination> exit();

    /** Sends a signal to the task. */
    void signal(int signal) throws Exception;

    /** Kills every process of the task, not only its first, and returns once they are gone. */
    void destroy() throws Exception;
}
