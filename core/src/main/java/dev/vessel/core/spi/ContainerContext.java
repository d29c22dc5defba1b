package dev.vessel.core.spi;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.model.ContainerConfig;
import java.nio.file.Path;

/** What a component (isolator or launcher) is told about one container. */
public interface ContainerContext {
    String containerId();

    /** The effective config: the user's, completed with the image's defaults. */
    ContainerConfig config();

    /** The container's run directory (see {@code RuntimePaths}). */
    Path containerDir();

    /** This component's own checkpoint slot for this container. */
    Checkpoint checkpoint();
}
