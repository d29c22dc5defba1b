package dev.vessel.isolators.volume;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.DockerVolume;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Volume;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Docker volumes through Docker volume plugins: at prepare, Create (when the plugin does not know the
 * volume yet) and Mount, handing the mountpoints to {@code filesystem/linux} which binds them into the
 * container; at cleanup, Unmount with the same ID. Volumes are never removed: like Docker's, they
 * outlive containers. What is mounted is checkpointed after every Mount, so a restarted daemon
 * unmounts exactly that. The plugins mount on the host, so a VM task's Docker volumes are resolved
 * here too, and its launcher shares the mountpoints with the guest.
 */
public final class DockerVolumeIsolator implements Isolator {
    public static final Path DEFAULT_PLUGIN_DIR = Path.of("/run/docker/plugins");
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    private static final System.Logger LOG = System.getLogger(DockerVolumeIsolator.class.getName());

    private final RuntimePaths paths;
    private final Path pluginDir;
    private final Duration timeout;

    /** @param pluginDir where plugin sockets are ({@code <driver>.sock}); {@link #DEFAULT_PLUGIN_DIR} on a node */
    public DockerVolumeIsolator(RuntimePaths paths, Path pluginDir, Duration timeout) {
        this.paths = paths;
        this.pluginDir = pluginDir;
        this.timeout = timeout;
    }

    @Override
    public String name() {
        return "volume/docker";
    }

    @Override
    public boolean appliesTo(Isolation isolation) {
        return isolation == Isolation.PROCESS || isolation == Isolation.VM;
    }

    @Override
    public Set<Key<?>> provides() {
        return Set.of(VolumeKeys.DOCKER_MOUNTS);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        List<Volume> volumes = context.config().getVolumesList();
        Map<String, VolumeDriverClient> clients = new HashMap<>();
        List<MountedVolumes.Entry> mounted = new ArrayList<>();
        Map<Integer, Path> mountpoints = new HashMap<>();
        for (int i = 0; i < volumes.size(); i++) {
            if (!volumes.get(i).hasDocker()) {
                continue;
            }
            DockerVolume volume = volumes.get(i).getDocker();
            String field = "volumes[" + i + "].docker";
            try {
                VolumeDriverClient client = clients.computeIfAbsent(volume.getDriver(),
                        driver -> VolumeDriverClient.connect(pluginDir, driver, timeout));
                if (client.get(volume.getName()).isEmpty()) {
                    client.create(volume.getName(), volume.getOptionsMap());
                }
                String id = mountId(context.containerId(), i);
                Path mountpoint = client.mount(volume.getName(), id);
                mounted.add(new MountedVolumes.Entry(volume.getDriver(), volume.getName(), id, mountpoint.toString()));
                context.checkpoint().save(MountedVolumes.CODEC, new MountedVolumes(mounted));
                if (!Files.isDirectory(mountpoint)) {
                    throw new VesselException(ErrorCode.INTERNAL, null, "Docker volume plugin '" + volume.getDriver()
                            + "' mounted volume '" + volume.getName() + "' at " + mountpoint
                            + ", which is not a directory on this node");
                }
                mountpoints.put(i, mountpoint);
            } catch (VesselException e) {
                throw new VesselException(e.code(), field, e.getMessage(), e); // cleanup unmounts what was mounted
            }
        }
        context.put(VolumeKeys.DOCKER_MOUNTS, new DockerVolumeMounts(mountpoints));
        return LaunchInfo.getDefaultInstance();
    }

    /** Docker mount IDs identify one user of a volume; ours name the container and the volume's index. */
    static String mountId(String containerId, int volumeIndex) {
        return "vessel-" + containerId + "-" + volumeIndex;
    }

    @Override
    public void cleanup(ContainerContext context) {
        unmountAll(context.checkpoint());
    }

    /**
     * Unmounts the volumes of containers that no longer exist: a directory left with this isolator's
     * checkpoint but no live container (the containerizer cleans up the live ones itself). A plugin
     * that is not there does not stop the node from starting: the checkpoint stays for the next try.
     */
    @Override
    public void recover(List<ContainerContext> containers) throws IOException {
        Set<Path> live = new HashSet<>();
        containers.forEach(c -> live.add(c.containerDir()));
        List<Path> dirs = new ArrayList<>();
        collectContainerDirs(paths.containersDir(), dirs);
        for (Path dir : dirs) {
            if (!live.contains(dir)) {
                try {
                    unmountAll(Checkpoint.at(paths.isolatorCheckpoint(dir, name())));
                } catch (VesselException e) {
                    LOG.log(Level.WARNING, "cannot unmount the Docker volumes of the gone container in {0}: {1}",
                            dir, e.getMessage());
                }
            }
        }
    }

    private void collectContainerDirs(Path parent, List<Path> out) throws IOException {
        if (!Files.isDirectory(parent)) {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent, Files::isDirectory)) {
            for (Path dir : entries) {
                out.add(dir);
                collectContainerDirs(paths.nestedContainersDir(dir), out);
            }
        }
    }

    /** Unmounts the newest first, checkpointing after each, so a failure leaves exactly what is left. */
    private void unmountAll(Checkpoint checkpoint) {
        List<MountedVolumes.Entry> left = new ArrayList<>(
                checkpoint.load(MountedVolumes.CODEC).map(MountedVolumes::mounts).orElse(List.of()));
        Map<String, VolumeDriverClient> clients = new HashMap<>();
        while (!left.isEmpty()) {
            MountedVolumes.Entry entry = left.getLast();
            clients.computeIfAbsent(entry.driver(), driver -> VolumeDriverClient.connect(pluginDir, driver, timeout))
                    .unmount(entry.name(), entry.id());
            left.removeLast();
            checkpoint.save(MountedVolumes.CODEC, new MountedVolumes(left));
        }
        checkpoint.delete();
    }
}
