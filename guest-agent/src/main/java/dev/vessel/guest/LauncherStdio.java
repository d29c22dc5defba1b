package dev.vessel.guest;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.Trees;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ExecPlan;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.stdio.StdioChannel;
import java.io.IOException;

/**
 * The guest's process launcher's attach and exec, called directly: the host's containerizer keeps the
 * records of a VM task's execs (under the host's exec ids, used here too), so the guest only runs them.
 * Their directories are under the task's, gone with it when the host destroys the task.
 */
final class LauncherStdio implements TaskStdio {
    private final UnifiedContainerizer containerizer;
    private final Launcher launcher;
    private final RuntimePaths paths;

    LauncherStdio(UnifiedContainerizer containerizer, Launcher launcher, RuntimePaths paths) {
        this.containerizer = containerizer;
        this.launcher = launcher;
        this.paths = paths;
    }

    @Override
    public StdioChannel attach(String containerId) throws Exception {
        return launcher.attach(context(containerId));
    }

    @Override
    public ExecutedProcess exec(String containerId, String execId, ExecConfig config) throws Exception {
        ContainerContext container = context(containerId);
        return launcher.exec(container, plan(container, execId, config));
    }

    @Override
    public AttachedExec execAttached(String containerId, String execId, ExecConfig config) throws Exception {
        ContainerContext container = context(containerId);
        return launcher.execAttached(container, plan(container, execId, config));
    }

    private ExecPlan plan(ContainerContext container, String execId, ExecConfig config) throws IOException {
        return new ExecPlan(execId, config, Trees.createDirectories(paths.execDir(container.containerDir(), execId)));
    }

    /** What the containerizer hands its launcher about the container: the task's checkpoint slot with it. */
    private ContainerContext context(String containerId) {
        return containerizer.launcherContext(containerId);
    }
}
