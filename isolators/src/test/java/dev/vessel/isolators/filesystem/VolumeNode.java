package dev.vessel.isolators.filesystem;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.isolators.volume.DockerVolumeIsolator;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.launcher.process.ProcessLauncher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A node for the volume tests: a busybox rootfs and a unified containerizer with the process
 * launcher, {@code filesystem/linux} and {@code volume/docker} (plugins looked up in {@code plugins/}).
 */
public final class VolumeNode {
    public final RuntimePaths paths;
    public final Path rootfs;
    public final Path pluginDir;
    private UnifiedContainerizer containerizer;

    private VolumeNode(Path dir) throws IOException {
        paths = new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
        rootfs = BusyboxRootfs.create(dir.resolve("rootfs"));
        pluginDir = Files.createDirectories(dir.resolve("plugins"));
        containerizer = newContainerizer();
    }

    /** Fails (never skips) when not root: the mounts and namespaces need it. */
    public static VolumeNode start(Path dir) throws IOException {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("volume tests must run as root (mount namespaces, bind mounts);"
                    + " running as '" + System.getProperty("user.name") + "'");
        }
        return new VolumeNode(dir);
    }

    public UnifiedContainerizer containerizer() {
        return containerizer;
    }

    /** A daemon restart: a new containerizer over the same state and run directories, recovered. */
    public UnifiedContainerizer restart() throws IOException {
        containerizer = newContainerizer();
        return containerizer;
    }

    private UnifiedContainerizer newContainerizer() throws IOException {
        UnifiedContainerizer c = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(ProcessLauncher.withBundledHelper(paths))
                .isolators(List.of(new LinuxFilesystemIsolator(paths),
                        new DockerVolumeIsolator(paths, pluginDir, Duration.ofSeconds(10))))
                .build();
        c.recover();
        return c;
    }

    public ContainerConfig.Builder config(String id, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS)
                .addCommand("/bin/sh").addArgs("-c").addArgs(script).setHostRootfs(rootfs.toString());
    }

    public Termination run(ContainerConfig config) throws Exception {
        containerizer.launch(config);
        return containerizer.wait(config.getId()).get(60, TimeUnit.SECONDS);
    }

    public String stdout(String id) throws IOException {
        return Files.readString(paths.stdoutLog(paths.containerDir(List.of(id))));
    }

    public String stderr(String id) throws IOException {
        return Files.readString(paths.stderrLog(paths.containerDir(List.of(id))));
    }

    public void destroyAll() {
        containerizer.list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                .forEach(s -> containerizer.destroy(s.getId()));
    }

    /** The host's mount table: the test JVM runs in the host's mount namespace. */
    public static List<String> hostMounts() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo"));
    }
}
