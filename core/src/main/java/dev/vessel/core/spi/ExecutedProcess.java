package dev.vessel.core.spi;

import dev.vessel.core.stdio.StdioChannel;
import java.util.concurrent.CompletableFuture;

/** A process a launcher started inside a running container (an exec), or found again after a restart. */
public interface ExecutedProcess {
    /** Its pid on this node; 0 when it has none here (a process inside a VM's guest). */
    long pid();

    /** Completes with its status as a shell reports it (the exit code, or 128 + the signal) when it ends. */
    CompletableFuture<Integer> exit();

    /** Connects to its stdio; the last frame is its EXIT. */
    StdioChannel attach() throws Exception;

    /** Sends it a signal. */
    void signal(int signal) throws Exception;
}
