package dev.vessel.guest;

import dev.vessel.core.agent.GuestMount;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.HostPathVolume;
import dev.vessel.core.model.Volume;
import dev.vessel.core.paths.Trees;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Makes a task's volumes ({@code LaunchTask.mounts}) ready in the guest: each shared directory or
 * disk is mounted under the task's volumes directory ({@link GuestPaths#volumeSource}), and handed on as an
 * ordinary host-path volume at its target (a shared file: that file in its share's directory), so that the in-guest {@code filesystem/linux} binds it
 * into the task exactly as on a host (read-only binds included). A tmpfs is passed on as a tmpfs
 * volume: the in-guest isolator makes it. Errors name the request's field, {@code mounts[i]…}.
 */
final class GuestVolumes {
    private final HostShare shares;
    private final BlockDevices disks;

    GuestVolumes(HostShare shares, BlockDevices disks) {
        this.shares = shares;
        this.disks = disks;
    }

    /**
     * Mounts the sources under {@code dir} and returns the volumes of the in-guest config. A failure
     * leaves what was mounted for {@link #release} to undo.
     */
    List<Volume> mount(List<GuestMount> mounts, Path dir) throws IOException {
        List<Volume> volumes = new ArrayList<>();
        for (int i = 0; i < mounts.size(); i++) {
            GuestMount m = mounts.get(i);
            String at = "mounts[" + i + "]";
            if (!m.getTarget().startsWith("/")) {
                throw VesselException.invalid(at + ".target", "'" + m.getTarget() + "' must be an absolute path");
            }
            Volume.Builder volume = Volume.newBuilder().setTarget(m.getTarget()).setReadOnly(m.getReadOnly());
            switch (m.getSourceCase()) {
                case TMPFS -> volume.setTmpfs(m.getTmpfs());
                case SHARE_TAG -> {
                    Path source = Trees.createDirectories(GuestPaths.volumeSource(dir, i));
                    try {
                        shares.mount(m.getShareTag(), HostShare.Kind.NINE_P, source, m.getReadOnly());
                    } catch (IOException e) {
                        throw new VesselException(ErrorCode.UNAVAILABLE, at + ".share_tag",
                                "cannot mount the share '" + m.getShareTag() + "': " + e.getMessage(), e);
                    }
                    volume.setHostPath(HostPathVolume.newBuilder().setPath(shareFile(at, m, source).toString())
                            .addAllOptions(m.getOptionsList()));
                }
                case DISK -> {
                    Path source = Trees.createDirectories(GuestPaths.volumeSource(dir, i));
                    mountDisk(at + ".disk", m, source);
                    volume.setHostPath(HostPathVolume.newBuilder().setPath(source.toString()));
                }
                case SOURCE_NOT_SET -> throw VesselException.invalid(at, "needs a source: share_tag, disk or tmpfs");
            }
            volumes.add(volume.build());
        }
        return volumes;
    }

    /** The shared directory, or for a file bind the one file in it that the host shared. */
    private static Path shareFile(String at, GuestMount m, Path source) {
        String name = m.getShareFile();
        if (name.isEmpty()) {
            return source;
        }
        if (name.contains("/") || name.equals(".") || name.equals("..")) {
            throw VesselException.invalid(at + ".share_file", "'" + name + "' must be a file's name");
        }
        return source.resolve(name);
    }

    private void mountDisk(String field, GuestMount m, Path target) throws IOException {
        String serial = m.getDisk().getSerial();
        if (serial.isEmpty()) {
            throw VesselException.invalid(field + ".serial", "must name the disk to mount");
        }
        Path device = disks.bySerial(serial).orElseThrow(() -> new VesselException(ErrorCode.UNAVAILABLE,
                field + ".serial", "this guest has no disk with serial '" + serial + "'"));
        try {
            GuestMounts.mount(device.toString(), target, m.getDisk().getFsType(), m.getReadOnly(), null);
        } catch (IOException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, field, "cannot mount the " + m.getDisk().getFsType()
                    + " filesystem of disk '" + serial + "' (" + device + "): " + e.getMessage(), e);
        }
    }

    /** Unmounts everything under {@code dir} and removes it; nothing there is not an error. */
    void release(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        Mounts.unmountTree(dir);
        // Never a recursive delete: were a mount still there, it would delete the user's files.
        try (Stream<Path> mountPoints = Files.list(dir)) {
            for (Path p : mountPoints.toList()) {
                Files.delete(p); // empty once unmounted; a non-empty one fails here instead
            }
        }
        Files.delete(dir);
    }
}
