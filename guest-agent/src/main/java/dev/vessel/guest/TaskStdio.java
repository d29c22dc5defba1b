package dev.vessel.guest;

import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.stdio.StdioChannel;

/** What the guest relays to the host: the stdio of its tasks, and processes run inside them. */
interface TaskStdio {
    /** Attaches to the running task's stdio; the last frame is its EXIT. */
    StdioChannel attach(String containerId) throws Exception;

    /** Runs a process inside the running task's container; returns once it runs. */
    ExecutedProcess exec(String containerId, String execId, ExecConfig config) throws Exception;

    /** As {@link #exec}, attached to its stdio before it runs, so that nothing it prints is missed. */
    default AttachedExec execAttached(String containerId, String execId, ExecConfig config) throws Exception {
        ExecutedProcess process = exec(containerId, execId, config);
        return new AttachedExec(process, process.attach());
    }
}
