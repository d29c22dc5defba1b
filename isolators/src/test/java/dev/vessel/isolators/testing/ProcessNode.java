package dev.vessel.isolators.testing;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.launcher.process.ProcessLauncher;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * A node of real process containers for isolator tests: a busybox rootfs, the process launcher and the
 * isolators given, recovered as a daemon's would be.
 */
public record ProcessNode(RuntimePaths paths, Path rootfs, UnifiedContainerizer containerizer) {

    /** Fails (never skips) when not root: cgroups, mounts and namespaces need it. */
    public static ProcessNode start(Path dir, String tests, Function<RuntimePaths, List<? extends Isolator>> isolators)
            throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException(tests + " tests must run as root (cgroups, mounts, namespaces); running as '"
                    + System.getProperty("user.name") + "'");
        }
        RuntimePaths paths = new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
        Path rootfs = BusyboxRootfs.create(dir.resolve("rootfs"));
        UnifiedContainerizer containerizer = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(ProcessLauncher.withBundledHelper(paths))
                .isolators(isolators.apply(paths))
                .build();
        containerizer.recover();
        return new ProcessNode(paths, rootfs, containerizer);
    }
}
