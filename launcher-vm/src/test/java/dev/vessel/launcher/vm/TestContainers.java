package dev.vessel.launcher.vm;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.VmLaunchInfo;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.LaunchPlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Containers as the containerizer would hand them to the launcher. */
final class TestContainers {
    private TestContainers() {
    }

    record Context(String containerId, ContainerConfig config, Path containerDir, Checkpoint checkpoint)
            implements ContainerContext {
    }

    /** The daemon's paths under a test's temporary {@code dir}. */
    static RuntimePaths paths(Path dir) {
        return new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
    }

    /** An (empty) rootfs directory under {@code dir}. */
    static Path rootfs(Path dir) throws Exception {
        return Files.createDirectories(dir.resolve("rootfs"));
    }

    static ContainerConfig.Builder vmConfig(String id) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).addCommand("/bin/true");
    }

    static Context context(RuntimePaths paths, ContainerConfig config) throws Exception {
        Path dir = Files.createDirectories(paths.containerDir(List.of(config.getId())));
        return new Context(config.getId(), config, dir, Checkpoint.at(paths.launcherCheckpoint(dir)));
    }

    static LaunchPlan plan(Context context, Path rootfs, long memoryBytes) {
        return new LaunchPlan(context, LaunchInfo.newBuilder().setRootfs(rootfs.toString())
                .setVm(VmLaunchInfo.newBuilder().setVcpus(1).setMemoryBytes(memoryBytes)).build());
    }
}
