package dev.vessel.isolators.filesystem;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Mount;
import dev.vessel.core.model.Volume;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.isolators.volume.DockerVolumeMounts;
import dev.vessel.isolators.volume.VolumeKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Turns the container's volumes into mounts inside its root filesystem: host paths and persistent
 * volumes are bind-mounted, tmpfs volumes are fresh tmpfs mounts, Docker volumes are bind mounts of
 * the mountpoints {@code volume/docker} obtained from their plugins (hence it requires that key).
 *
 * <p>The mounts are made by the launch helper inside the container's mount namespace, so they vanish
 * with it. Targets are resolved there inside the rootfs ({@code RESOLVE_IN_ROOT}): a symlink in the
 * image cannot make a mount land on the host.
 */
public final class LinuxFilesystemIsolator implements Isolator {
    private final RuntimePaths paths;

    public LinuxFilesystemIsolator(RuntimePaths paths) {
        this.paths = paths;
    }

    @Override
    public String name() {
        return "filesystem/linux";
    }

    @Override
    public Set<Key<?>> requires() {
        return Set.of(ContainerKeys.ROOTFS, VolumeKeys.DOCKER_MOUNTS);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws IOException {
        List<Volume> volumes = context.config().getVolumesList();
        if (volumes.isEmpty()) {
            return LaunchInfo.getDefaultInstance();
        }
        if (context.get(ContainerKeys.ROOTFS) == null) {
            throw VesselException.invalid("volumes", "volumes need a root filesystem to be mounted in");
        }
        checkHostPathsExist(volumes); // before anything is created
        DockerVolumeMounts docker = context.get(VolumeKeys.DOCKER_MOUNTS);
        List<Mount> mounts = new ArrayList<>();
        for (int i = 0; i < volumes.size(); i++) {
            Volume v = volumes.get(i);
            mounts.add(switch (v.getSourceCase()) {
                case HOST_PATH -> bind(v.getHostPath().getPath(), v);
                case TMPFS -> tmpfs(v);
                case PERSISTENT -> bind(persistentDirectory(v.getPersistent().getName()).toString(), v);
                case DOCKER -> bind(docker.mountpoint(i).orElseThrow().toString(), v);
                case SOURCE_NOT_SET -> throw VesselException.invalid("volumes[" + i + "]", "needs a source");
            });
        }
        // Parents before children: a volume at /data/logs must land on top of one at /data, not under it.
        mounts.sort(Comparator.comparingInt(m -> Path.of(m.getTarget()).normalize().getNameCount()));
        return LaunchInfo.newBuilder().addAllMounts(mounts).build();
    }

    private static void checkHostPathsExist(List<Volume> volumes) {
        for (int i = 0; i < volumes.size(); i++) {
            if (volumes.get(i).hasHostPath() && !Files.exists(Path.of(volumes.get(i).getHostPath().getPath()))) {
                throw VesselException.invalid("volumes[" + i + "].host_path.path",
                        "'" + volumes.get(i).getHostPath().getPath() + "' does not exist on this node");
            }
        }
    }

    /** The user's data: created on first use, never removed by Vessel. */
    private Path persistentDirectory(String name) throws IOException {
        return Files.createDirectories(paths.volumesDir().resolve(name));
    }

    /**
     * A read-write volume is bound recursively, with the mounts below its source; a read-only one is
     * not, since the remount that makes it read-only covers the top mount only and a submount would
     * stay writable.
     */
    private static Mount bind(String source, Volume v) {
        Mount.Builder m = Mount.newBuilder().setSource(source).setTarget(v.getTarget())
                .setType(v.getReadOnly() ? "bind" : "rbind");
        if (v.getReadOnly()) {
            m.addOptions("ro");
        }
        return m.build();
    }

    private static Mount tmpfs(Volume v) {
        Mount.Builder m = Mount.newBuilder().setSource("tmpfs").setTarget(v.getTarget()).setType("tmpfs")
                .addOptions("nosuid").addOptions("nodev").addOptions("mode=1777");
        if (v.getTmpfs().getSizeBytes() > 0) {
            m.addOptions("size=" + v.getTmpfs().getSizeBytes());
        }
        if (v.getReadOnly()) {
            m.addOptions("ro");
        }
        return m.build();
    }
}
