package dev.vessel.core.isolation;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** One isolator's view of a container during prepare: only the keys it declared. */
final class ChainPrepareContext implements PrepareContext {
    private final ContainerContext container;
    private final Isolator isolator;
    private final Map<Key<?>, Object> data;
    private final Set<Key<?>> written = ConcurrentHashMap.newKeySet();

    ChainPrepareContext(ContainerContext container, Isolator isolator, Map<Key<?>, Object> data) {
        this.container = container;
        this.isolator = isolator;
        this.data = data;
    }

    @Override
    public <T> T get(Key<T> key) {
        if (!isolator.requires().contains(key)) {
            throw new IllegalStateException("isolator '" + isolator.name() + "' reads key " + key
                    + " without declaring it in requires()");
        }
        // Its provider ran first and was checked to write it; only a containerizer-provided key can be
        // absent (no rootfs for a VM booted from a disk image), and then this is null.
        return key.type().cast(data.get(key));
    }

    @Override
    public <T> void put(Key<T> key, T value) {
        if (!isolator.provides().contains(key)) {
            throw new IllegalStateException("isolator '" + isolator.name() + "' writes key " + key
                    + " without declaring it in provides()");
        }
        data.put(key, key.type().cast(value));
        written.add(key);
    }

    boolean wrote(Key<?> key) {
        return written.contains(key);
    }

    @Override
    public String containerId() {
        return container.containerId();
    }

    @Override
    public ContainerConfig config() {
        return container.config();
    }

    @Override
    public Path containerDir() {
        return container.containerDir();
    }

    @Override
    public Checkpoint checkpoint() {
        return container.checkpoint();
    }
}
