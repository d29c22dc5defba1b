package dev.vessel.isolators.vm;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.paths.RuntimePaths;
import java.nio.file.Path;

/** VM containers as the containerizer would hand them to the host-side VM isolators. */
final class TestContainers {
    private TestContainers() {
    }

    /** The daemon's paths under a test's temporary {@code dir}. */
    static RuntimePaths paths(Path dir) {
        return new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
    }

    static ContainerConfig.Builder vmConfig(String id) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).addCommand("/bin/true");
    }
}
