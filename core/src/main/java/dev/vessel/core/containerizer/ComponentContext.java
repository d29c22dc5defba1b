package dev.vessel.core.containerizer;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.spi.ContainerContext;
import java.nio.file.Path;

/** A container as one component (isolator or launcher) sees it, with that component's checkpoint. */
record ComponentContext(String containerId, ContainerConfig config, Path containerDir, Checkpoint checkpoint)
        implements ContainerContext {
}
