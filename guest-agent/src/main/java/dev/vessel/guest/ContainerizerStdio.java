package dev.vessel.guest;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.stdio.StdioChannel;

/** The guest containerizer's attach and exec, which its process launcher serves. */
final class ContainerizerStdio implements TaskStdio {
    private final UnifiedContainerizer containerizer;

    private ContainerizerStdio(UnifiedContainerizer containerizer) {
        this.containerizer = containerizer;
    }

    static TaskStdio of(UnifiedContainerizer containerizer) {
        return new ContainerizerStdio(containerizer);
    }

    @Override
    public StdioChannel attach(String containerId) {
        throw new VesselException(ErrorCode.FAILED_PRECONDITION, "container_id", "this guest cannot attach yet");
    }

    @Override
    public ExecutedProcess exec(String containerId, String execId, ExecConfig config) {
        throw new VesselException(ErrorCode.FAILED_PRECONDITION, "container_id", "this guest cannot exec yet");
    }
}
