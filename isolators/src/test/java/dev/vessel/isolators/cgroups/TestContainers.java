package dev.vessel.isolators.cgroups;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import java.nio.file.Path;

/** A container as the containerizer would describe it to an isolator: its config, a directory, a checkpoint slot. */
final class TestContainers {
    private TestContainers() {
    }

    static ContainerContext context(Path dir, String id, Resources resources) {
        ContainerConfig config = ContainerConfig.newBuilder().setId(id).setResources(resources).build();
        return new ContainerContext() {
            @Override
            public String containerId() {
                return id;
            }

            @Override
            public ContainerConfig config() {
                return config;
            }

            @Override
            public Path containerDir() {
                return dir.resolve(id);
            }

            @Override
            public Checkpoint checkpoint() {
                return Checkpoint.at(dir.resolve(id + ".ckpt"));
            }
        };
    }
}
