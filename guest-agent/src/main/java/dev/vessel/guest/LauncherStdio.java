package dev.vessel.guest;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.stdio.StdioChannel;

/**
 * The guest's process launcher's attach and exec, called directly: the host's containerizer keeps the
 * records of a VM task's execs (under the host's exec ids, used here too), so the guest only runs them.
 * Their directories are under the task's, gone with it when the host destroys the task.
 */
final class LauncherStdio implements TaskStdio {
    private final UnifiedContainerizer containerizer;
    private final Launcher launcher;

    LauncherStdio(UnifiedContainerizer containerizer, Launcher launcher) {
        this.containerizer = containerizer;
        this.launcher = launcher;
    }

    @Override
    public StdioChannel attach(String containerId) throws Exception {
        return launcher.attach(containerizer.launcherContext(containerId));
    }

    @Override
    public ExecutedProcess exec(String containerId, String execId, ExecConfig config) throws Exception {
        return launcher.exec(containerizer.launcherContext(containerId),
                containerizer.execPlan(containerId, execId, config));
    }

    @Override
    public AttachedExec execAttached(String containerId, String execId, ExecConfig config) throws Exception {
        return launcher.execAttached(containerizer.launcherContext(containerId),
                containerizer.execPlan(containerId, execId, config));
    }
}
