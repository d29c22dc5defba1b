package dev.vessel.isolators.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.isolators.IsolatorCatalog.Placement;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.IsolatorContext;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.launcher.process.ProcessLauncher;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A node of real process containers for isolator tests: a busybox rootfs, the process launcher and the
 * isolators given, recovered as a daemon's would be.
 */
public record ProcessNode(RuntimePaths paths, Path rootfs, UnifiedContainerizer containerizer) {

    /** Fails (never skips) when not root: cgroups, mounts and namespaces need it. */
    public static ProcessNode start(Path dir, String tests, Function<RuntimePaths, List<? extends Isolator>> isolators)
            throws IOException {
        return start(dir, tests, isolators, builder -> { });
    }

    /** As {@link #start(Path, String, Function)}, the containerizer's builder completed by {@code more}. */
    public static ProcessNode start(Path dir, String tests, Function<RuntimePaths, List<? extends Isolator>> isolators,
            Consumer<UnifiedContainerizer.Builder> more) throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException(tests + " tests must run as root (cgroups, mounts, namespaces); running as '"
                    + System.getProperty("user.name") + "'");
        }
        RuntimePaths paths = new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
        Path rootfs = BusyboxRootfs.create(dir.resolve("rootfs"));
        UnifiedContainerizer.Builder builder = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(ProcessLauncher.withBundledHelper(paths))
                .isolators(isolators.apply(paths));
        more.accept(builder);
        UnifiedContainerizer containerizer = builder.build();
        containerizer.recover();
        return new ProcessNode(paths, rootfs, containerizer);
    }

    /**
     * A node with the isolators a node runs for process tasks by default (the catalog's PROCESS_HOST ones),
     * their cgroups under {@code cgroupParent}.
     */
    public static ProcessNode startWithDefaultIsolators(Path dir, String tests, CgroupHierarchies hierarchies,
            String cgroupParent) throws IOException {
        return start(dir, tests, p -> IsolatorCatalog.build(
                IsolatorContext.of(p, hierarchies, cgroupParent), EnumSet.of(Placement.PROCESS_HOST)));
    }

    /** {@code prefix} and a random suffix: a test class's cgroup parent, so runs never share one. */
    public static String uniqueCgroupParent(String prefix) {
        return prefix + UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * The end of a test class: destroys the containers {@code node} still runs (if it started at all),
     * then removes {@code cgroupParent} from every hierarchy, which the cgroup isolators leave behind.
     */
    public static void stop(ProcessNode node, CgroupHierarchies hierarchies, String cgroupParent) throws IOException {
        if (node != null) {
            node.containerizer.list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                    .forEach(s -> node.containerizer.destroy(s.getId()));
        }
        for (CgroupHierarchy h : hierarchies.all()) {
            Files.deleteIfExists(h.mountPoint().resolve(cgroupParent));
        }
    }

    /** A process container that runs {@code script} with /bin/sh -c on the node's rootfs. */
    public ContainerConfig.Builder shellConfig(String id, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS)
                .addCommand("/bin/sh").addArgs("-c").addArgs(script).setHostRootfs(rootfs.toString());
    }

    /** Launches {@code config} and waits up to 30 s for its end, which must be an exit (stderr says why not). */
    public Termination runToExit(ContainerConfig.Builder config) throws Exception {
        containerizer.launch(config.build());
        Termination t = containerizer.wait(config.getId()).get(30, TimeUnit.SECONDS);
        assertEquals(TerminationReason.EXITED, t.getReason(), t + ", stderr " + stderr(config.getId()));
        return t;
    }

    public String stdout(String id) throws IOException {
        return Files.readString(paths.stdoutLog(paths.containerDir(List.of(id))));
    }

    public String stderr(String id) throws IOException {
        return Files.readString(paths.stderrLog(paths.containerDir(List.of(id))));
    }
}
