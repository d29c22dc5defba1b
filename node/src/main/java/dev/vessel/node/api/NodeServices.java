package dev.vessel.node.api;

import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.launcher.process.LogReader;
import dev.vessel.provisioner.ImageProvisioner;

/** What the API serves: the node's components, built and recovered by the daemon. */
public record NodeServices(Containerizer containerizer, ImageProvisioner images, LogReader logs, RuntimePaths paths,
        NodeInfo info, AutoCloseable launchers) implements AutoCloseable {

    /** At shutdown: releases what the launchers hold (running tasks and VMs keep running). */
    @Override
    public void close() throws Exception {
        launchers.close();
    }
}
