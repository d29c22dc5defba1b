package dev.vessel.core.containerizer;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A container as one component (isolator or launcher) sees it, with that component's checkpoint. The config is the
 * published record's: the same as the locked record's wherever a component is called (every change of the config is
 * published before one runs), and safe to read without the lock.
 */
record ComponentContext(String containerId, ContainerConfig config, Path containerDir, Checkpoint checkpoint)
        implements ContainerContext {

    static ComponentContext ofLauncher(Container c) {
        return new ComponentContext(c.id, c.snapshot().getConfig(), c.dir, c.launcherCheckpoint());
    }

    static ComponentContext ofIsolator(Container c, Isolator isolator) {
        return new ComponentContext(c.id, c.snapshot().getConfig(), c.dir, c.isolatorCheckpoint(isolator.name()));
    }

    /** The context of each isolator, made once per isolator for one pass of a chain over the container. */
    static Function<Isolator, ContainerContext> perIsolator(Container c) {
        Map<Isolator, ContainerContext> contexts = new ConcurrentHashMap<>(); // prepare runs concurrently
        return isolator -> contexts.computeIfAbsent(isolator, i -> ofIsolator(c, i));
    }
}
