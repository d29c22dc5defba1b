package dev.vessel.isolators.testing;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The context a containerizer would pass, for driving one isolator on its own: the container, its
 * directory, the isolator's checkpoint slot, and the keys the isolators before it provided.
 */
public record DirectPrepareContext(ContainerConfig config, Path containerDir, Checkpoint checkpoint,
        Map<Key<?>, Object> data) implements PrepareContext {

    public DirectPrepareContext(ContainerConfig config, Path containerDir, Path checkpointFile) {
        this(config, containerDir, Checkpoint.at(checkpointFile), new HashMap<>());
    }

    /** This context with {@code key} set, as the isolator providing it would have. */
    public <T> DirectPrepareContext with(Key<T> key, T value) {
        put(key, value);
        return this;
    }

    @Override
    public String containerId() {
        return config.getId();
    }

    @Override
    public <T> T get(Key<T> key) {
        return key.type().cast(data.get(key));
    }

    @Override
    public <T> void put(Key<T> key, T value) {
        data.put(key, value);
    }
}
