package dev.vessel.isolators.filesystem;

import dev.vessel.core.isolation.ReadOnlyRootfs;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.device.ContainerDevices;
import dev.vessel.core.model.Device;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Mount;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.model.Volume;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.core.spi.TaskSandbox;
import dev.vessel.core.volume.NamedVolumes;
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
 *
 * <p>For a VM task it runs on the host too and resolves the same sources, but nothing mounts its
 * plan there: the VM launcher shares each bind source with the guest (virtio-9p shares directories; a
 * file is shared alone in a directory of the launcher's) and has the guest make each tmpfs; inside the
 * guest this isolator then binds the shared directories into the task.
 *
 * <p>A container that fetches {@code uris} gets its sandbox bound read-write at {@link TaskSandbox#TARGET}; a VM
 * task's reaches its guest as a shared volume.
 *
 * <p>A container's host {@code devices} are bind mounts of the host's nodes (the GPU isolator's way: each keeps
 * the host's type and number, and a bind works in a user namespace, where mknod does not); cgroups/devices
 * allows them.
 *
 * <p>A container with {@code read_only_rootfs} also gets writable tmpfs where programs expect to write
 * ({@link ReadOnlyRootfs#WRITABLE_TMPFS}); for a VM task the guest's instance makes them, as the task's config
 * reaches the guest unchanged.
 */
public final class LinuxFilesystemIsolator implements Isolator {
    /** A tmpfs's mode unless its volume says: anyone may write, only the owner removes (/tmp's). */
    static final int DEFAULT_TMPFS_MODE = 01777;

    private final RuntimePaths paths;
    private final boolean dockerVolumes;

    /** A host's: Docker volumes are resolved by {@code volume/docker}, which must be in the chain. */
    public LinuxFilesystemIsolator(RuntimePaths paths) {
        this(paths, true);
    }

    private LinuxFilesystemIsolator(RuntimePaths paths, boolean dockerVolumes) {
        this.paths = paths;
        this.dockerVolumes = dockerVolumes;
    }

    /**
     * A guest's: its tasks' volumes are directories the host already resolved and shared, handed over
     * as host paths; a Docker volume is refused, and no {@code volume/docker} is needed in the chain.
     */
    public static LinuxFilesystemIsolator withoutDockerVolumes(RuntimePaths paths) {
        return new LinuxFilesystemIsolator(paths, false);
    }

    @Override
    public boolean appliesTo(Isolation isolation) {
        return isolation == Isolation.PROCESS || isolation == Isolation.VM;
    }

    @Override
    public String name() {
        return "filesystem/linux";
    }

    @Override
    public Set<Key<?>> requires() {
        return dockerVolumes ? Set.of(ContainerKeys.ROOTFS, ContainerKeys.SANDBOX, VolumeKeys.DOCKER_MOUNTS)
                : Set.of(ContainerKeys.ROOTFS, ContainerKeys.SANDBOX);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws IOException {
        List<Volume> volumes = context.config().getVolumesList();
        // A VM task's guest runs this isolator for its task too, and makes these tmpfs there.
        boolean readOnlyTmpfs = context.config().getReadOnlyRootfs()
                && context.config().getIsolation() == Isolation.PROCESS;
        // A guest's instance never sees uris (the host fetched them, and shares the sandbox as a volume).
        boolean sandbox = TaskSandbox.mounted(context.config());
        List<Device> devices = context.config().getDevicesList();
        if (volumes.isEmpty() && !readOnlyTmpfs && !sandbox && devices.isEmpty()) {
            return LaunchInfo.getDefaultInstance();
        }
        if (context.get(ContainerKeys.ROOTFS) == null) {
            throw !volumes.isEmpty() ? VesselException.invalid("volumes", "volumes need a root filesystem to be mounted in")
                    : !devices.isEmpty() ? VesselException.invalid("devices", "devices need a root filesystem to be bound in")
                    : VesselException.invalid("read_only_rootfs", "needs a root filesystem (image or host_rootfs)");
        }
        checkHostPaths(volumes, context.config().getIsolation()); // before anything is created
        DockerVolumeMounts docker = dockerVolumes ? context.get(VolumeKeys.DOCKER_MOUNTS) : null;
        List<Mount> mounts = new ArrayList<>();
        for (int i = 0; i < volumes.size(); i++) {
            Volume v = volumes.get(i);
            mounts.add(switch (v.getSourceCase()) {
                case HOST_PATH -> bind(v.getHostPath().getPath(), v);
                case TMPFS -> tmpfs(v);
                case PERSISTENT -> bind(persistentDirectory(v.getPersistent().getName()).toString(), v);
                case DOCKER -> {
                    if (docker == null) {
                        throw VesselException.invalid("volumes[" + i + "].docker",
                                "Docker volumes are not available here (a guest gets them from its host)");
                    }
                    yield bind(docker.mountpoint(i).orElseThrow().toString(), v);
                }
                case SOURCE_NOT_SET -> throw VesselException.invalid("volumes[" + i + "]", "needs a source");
            });
        }
        if (readOnlyTmpfs) {
            mounts.addAll(readOnlyRootfsTmpfs(volumes));
        }
        if (sandbox) {
            // the validator refused a volume there; recursive, as a read-write volume's bind
            mounts.add(Mount.newBuilder().setSource(context.get(ContainerKeys.SANDBOX).toString())
                    .setTarget(TaskSandbox.TARGET).setType("rbind").build());
        }
        for (Device d : devices) {
            // not nodev: the node is what the container is meant to open; its access is the devices cgroup's
            mounts.add(Mount.newBuilder().setType("bind").setSource(d.getHostPath()).setTarget(ContainerDevices.path(d))
                    .addOptions("nosuid").addOptions("noexec").build());
        }
        // Parents before children: a volume at /data/logs must land on top of one at /data, not under it.
        mounts.sort(Comparator.comparingInt(m -> Path.of(m.getTarget()).normalize().getNameCount()));
        return LaunchInfo.newBuilder().addAllMounts(mounts).build();
    }

    /**
     * Every host path exists; for a VM task, each is a directory or a file (the VM launcher shares a file
     * alone, never its parent, whose other entries the task never asked for).
     */
    private static void checkHostPaths(List<Volume> volumes, Isolation isolation) {
        for (int i = 0; i < volumes.size(); i++) {
            if (!volumes.get(i).hasHostPath()) {
                continue;
            }
            String field = "volumes[" + i + "].host_path.path";
            Path path = Path.of(volumes.get(i).getHostPath().getPath());
            if (!Files.exists(path)) {
                throw VesselException.invalid(field, "'" + path + "' does not exist on this node");
            }
            if (isolation == Isolation.VM && !Files.isDirectory(path) && !Files.isRegularFile(path)) {
                throw VesselException.invalid(field, "'" + path + "' is neither a directory nor a file: a VM task's"
                        + " guest can be given those only (virtio-9p shares)");
            }
        }
    }

    /** A named volume's data: the volume created on first use, removed only when the user asks. */
    private Path persistentDirectory(String name) throws IOException {
        return new NamedVolumes(paths).ensure(name);
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
        m.addAllOptions(v.getHostPath().getOptionsList()); // empty for a docker volume's or a persistent one's
        return m.build();
    }

    /**
     * podman's {@code --read-only-tmpfs}, which its {@code --read-only} implies: a writable tmpfs on each
     * of {@link ReadOnlyRootfs#WRITABLE_TMPFS}, unless a volume is there or above it (the user's wins). They
     * start empty (podman copies the image's files up; here what the image has there is hidden), and
     * their size counts against the container's memory. /dev/shm is writable anyway: it is the launch
     * helper's own tmpfs.
     */
    private static List<Mount> readOnlyRootfsTmpfs(List<Volume> volumes) {
        List<Path> targets = volumes.stream().map(v -> Path.of(v.getTarget()).normalize()).toList();
        List<Mount> mounts = new ArrayList<>();
        for (ReadOnlyRootfs.WritableTmpfs t : ReadOnlyRootfs.WRITABLE_TMPFS) {
            if (targets.stream().noneMatch(Path.of(t.target())::startsWith)) {
                mounts.add(tmpfs(Volume.newBuilder().setTarget(t.target())
                        .setTmpfs(TmpfsVolume.newBuilder().setMode(t.mode())).build()));
            }
        }
        return mounts;
    }

    /** A tmpfs is always nosuid and nodev; its mode defaults to /tmp's. */
    private static Mount tmpfs(Volume v) {
        TmpfsVolume t = v.getTmpfs();
        Mount.Builder m = Mount.newBuilder().setSource("tmpfs").setTarget(v.getTarget()).setType("tmpfs")
                .addOptions("nosuid").addOptions("nodev")
                .addOptions("mode=" + Integer.toOctalString(t.getMode() != 0 ? t.getMode() : DEFAULT_TMPFS_MODE));
        if (t.getNoexec()) {
            m.addOptions("noexec");
        }
        if (t.getSizeBytes() > 0) {
            m.addOptions("size=" + t.getSizeBytes());
        }
        if (v.getReadOnly()) {
            m.addOptions("ro");
        }
        return m.build();
    }
}
