package dev.vessel.launcher.vm.domain;

import dev.vessel.core.agent.GuestDisk;
import dev.vessel.core.agent.GuestMount;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.isolation.ReadOnlyRootfs;
import dev.vessel.core.model.Mount;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.model.VmDisk;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.Xattrs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * How a VM task's volumes and disks reach the task. The host-side {@code filesystem/linux} plan
 * (bind sources resolved, tmpfs sizes) becomes one virtio-9p share per bind source (a writable one on a
 * filesystem with user xattrs, see {@link DomainXml}), each of the
 * container's {@code vm.disks} a virtio-blk disk with a serial the guest finds it by, and the guest is
 * told in {@code LaunchTask.mounts} what to mount and where the task gets it.
 *
 * <p>A bind of one file is shared as a directory of Vessel's own holding only that file, bound there, and the other
 * files the task binds from the same host directory ({@link FileShare}; the launcher makes the binds): sharing the
 * file's own directory would show the guest every neighbour of the file, and open them to QEMU's user.
 *
 * @param shares      directories shared with the guest, in the plan's order
 * @param disks       disks attached to the guest, in the config's order
 * @param guestMounts the task's volumes as the guest makes them: the plan's, then the disks with a target
 * @param files       the file binds, shared as a directory per host directory they come from (of {@code shares})
 */
public record VmVolumes(List<VolumeShare> shares, List<AttachedDisk> disks, List<GuestMount> guestMounts,
        List<FileShare> files) {
    /** Share tags are this plus an index; the rootfs share has its own ({@link DomainXml#ROOTFS_TAG}). */
    static final String SHARE_TAG_PREFIX = "vessel-vol";
    /** Disk serials are this plus an index; virtio-blk keeps at most 20 bytes of a serial. */
    static final String DISK_SERIAL_PREFIX = "vessel-disk";
    static final String DEFAULT_FORMAT = "raw";
    static final String DEFAULT_FS_TYPE = "ext4";

    /** A bind's options the guest's bind applies (read-only is the mount's own flag). */
    private static final Set<String> GUEST_BIND_OPTIONS = Set.of("nosuid", "nodev", "noexec");
    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;
    private static final int EOPNOTSUPP = 95;

    /** A host directory the guest mounts by its tag; read-only ones are read-only to QEMU itself. */
    public record VolumeShare(String tag, Path source, boolean readOnly) {
    }

    /** A host file, bound on {@code dir/<its name>} for {@code dir} to be shared by {@code tag}. */
    public record FileShare(Path file, Path dir, boolean readOnly, String tag) {
        public Path bound() {
            return dir.resolve(file.getFileName());
        }
    }

    /** A host image file or block device given to the guest as {@code /dev/<device>}. */
    public record AttachedDisk(Path path, String format, boolean readOnly, boolean blockDevice, String serial,
            String device) {
    }

    public VmVolumes {
        shares = List.copyOf(shares);
        disks = List.copyOf(disks);
        guestMounts = List.copyOf(guestMounts);
        files = List.copyOf(files);
    }

    public static VmVolumes none() {
        return new VmVolumes(List.of(), List.of(), List.of(), List.of());
    }

    /** {@link #plan(List, List, Path)} where no file may be bound (nowhere to share one from). */
    public static VmVolumes plan(List<Mount> mounts, List<VmDisk> vmDisks) {
        return plan(mounts, vmDisks, null);
    }

    /**
     * Plans the shares, disks and guest mounts. Refuses, naming the field, a disk whose path is not an
     * image file or block device on this node.
     *
     * @param mounts   the merged launch info's mounts: every one becomes a guest mount (today only
     *                 filesystem/linux contributes mounts to a VM task)
     * @param filesDir where bound files get their directories ({@code <filesDir>/<n>/}); null: a file is refused
     */
    public static VmVolumes plan(List<Mount> mounts, List<VmDisk> vmDisks, Path filesDir) {
        List<VolumeShare> shares = new ArrayList<>();
        List<AttachedDisk> disks = new ArrayList<>();
        List<GuestMount> guestMounts = new ArrayList<>();
        List<FileShare> files = new ArrayList<>();
        for (Mount m : mounts) {
            guestMounts.add(volume(m, shares, files, filesDir));
        }
        for (int i = 0; i < vmDisks.size(); i++) {
            VmDisk d = vmDisks.get(i);
            AttachedDisk disk = new AttachedDisk(Path.of(d.getPath()),
                    d.getFormat().isEmpty() ? DEFAULT_FORMAT : d.getFormat(), d.getReadOnly(),
                    isBlockDevice("vm.disks[" + i + "].path", Path.of(d.getPath())), DISK_SERIAL_PREFIX + i,
                    deviceName(i));
            disks.add(disk);
            if (!d.getTarget().isEmpty()) {
                guestMounts.add(GuestMount.newBuilder().setTarget(d.getTarget()).setReadOnly(d.getReadOnly())
                        .setDisk(GuestDisk.newBuilder().setSerial(disk.serial())
                                .setFsType(d.getFsType().isEmpty() ? DEFAULT_FS_TYPE : d.getFsType()))
                        .build());
            }
        }
        return new VmVolumes(shares, disks, guestMounts, files);
    }

    /** One mount of filesystem/linux's plan as the guest makes it; a bind adds its source to {@code shares}. */
    private static GuestMount volume(Mount m, List<VolumeShare> shares, List<FileShare> files, Path filesDir) {
        boolean readOnly = m.getOptionsList().contains("ro");
        GuestMount.Builder guest = GuestMount.newBuilder().setTarget(m.getTarget()).setReadOnly(readOnly);
        switch (m.getType()) {
            case "bind", "rbind" -> {
                Path source = Path.of(m.getSource());
                m.getOptionsList().stream().filter(GUEST_BIND_OPTIONS::contains).forEach(guest::addOptions);
                String tag = SHARE_TAG_PREFIX + shares.size();
                if (Files.isRegularFile(source) && filesDir == null) { // a pod's member: its pod's VM shares no more
                    throw VesselException.invalid("volumes", "'" + m.getSource() + "' (for " + m.getTarget()
                            + ") is a file: this guest can be given directories only");
                }
                if (Files.isRegularFile(source)) {
                    // the guest writes into the bound file only: its directory needs no xattrs
                    FileShare file = fileShare(source, readOnly, shares, files, filesDir);
                    guest.setShareTag(file.tag()).setShareFile(source.getFileName().toString());
                    break;
                }
                if (!Files.isDirectory(source)) { // filesystem/linux refuses these first
                    throw VesselException.invalid("volumes", "'" + m.getSource() + "' (for " + m.getTarget()
                            + ") is neither a directory nor a file: a guest can be given those only");
                }
                if (!readOnly) {
                    requireUserXattrs(source, m.getTarget());
                }
                shares.add(new VolumeShare(tag, source, readOnly));
                guest.setShareTag(tag);
            }
            case "tmpfs" -> guest.setTmpfs(tmpfs(m));
            default -> throw VesselException.internal("volumes", "a " + m.getType() + " mount at "
                    + m.getTarget() + " cannot be carried into a VM task's guest", null);
        }
        return guest.build();
    }

    /**
     * The share of a bound file: the one of files bound before from the same host directory (names there are
     * distinct, and one device serves them all: podman's hosts, resolv.conf and hostname, Vessel's resolver files),
     * else a new directory of Vessel's. Writable once any of its files is; each file's own bind stays read-only or not.
     */
    private static FileShare fileShare(Path source, boolean readOnly, List<VolumeShare> shares, List<FileShare> files,
            Path filesDir) {
        FileShare sibling = files.stream().filter(f -> f.file().getParent().equals(source.getParent())).findFirst()
                .orElse(null);
        FileShare file;
        if (sibling == null) {
            String tag = SHARE_TAG_PREFIX + shares.size();
            long directories = files.stream().map(FileShare::dir).distinct().count();
            file = new FileShare(source, filesDir.resolve(Long.toString(directories)), readOnly, tag);
            shares.add(new VolumeShare(tag, file.dir(), readOnly));
        } else {
            file = new FileShare(source, sibling.dir(), readOnly, sibling.tag());
            if (!readOnly) {
                shares.replaceAll(share -> share.tag().equals(sibling.tag())
                        ? new VolumeShare(share.tag(), share.source(), false) : share);
            }
        }
        files.add(file);
        return file;
    }

    /**
     * A writable share keeps what the guest makes in it in {@code user.*} xattrs (QEMU's mapped model,
     * {@link DomainXml}); on a filesystem without them every file the guest creates would fail. Asking
     * for an attribute the directory lacks tells the two apart without writing anything.
     */
    private static void requireUserXattrs(Path dir, String target) {
        try {
            Xattrs.get(dir, "user.virtfs.mode");
        } catch (ErrnoException e) {
            if (e.errno() == EOPNOTSUPP) {
                throw VesselException.invalid("volumes", "'" + dir + "' (for " + target + ") is on a filesystem "
                        + "without user extended attributes, in which a VM task's writable volume keeps the "
                        + "guest's owners and modes: share it read-only or use a directory on another filesystem");
            }
            throw VesselException.invalid("volumes", "cannot read the extended attributes of '" + dir + "' (for "
                    + target + "): " + e.getMessage());
        }
    }

    /**
     * Makes the guest mounts' targets that are missing in a {@code host_rootfs}, as root, as the launch
     * helper does for a process container's, and with {@code readOnlyRootfs} those of the writable tmpfs the
     * guest's {@code filesystem/linux} adds ({@link ReadOnlyRootfs}): in the guest, the task acts on that
     * directory as QEMU's unprivileged user, who may not create them. Only real directories are walked, never
     * a symlink; a target behind one, or behind a file, is left for the guest to refuse.
     */
    public void makeMountPointsIn(Path hostRootfs, boolean readOnlyRootfs) throws IOException {
        List<String> targets = new ArrayList<>(guestMounts.stream().map(GuestMount::getTarget).toList());
        if (readOnlyRootfs) {
            ReadOnlyRootfs.WRITABLE_TMPFS.forEach(t -> targets.add(t.target()));
        }
        Set<String> fileTargets = guestMounts.stream().filter(m -> !m.getShareFile().isEmpty())
                .map(m -> Path.of(m.getTarget()).normalize().toString()).collect(Collectors.toSet());
        for (String target : targets) {
            Path dir = hostRootfs;
            Path relative = Path.of("/").relativize(Path.of(target).normalize());
            for (int i = 0; i < relative.getNameCount(); i++) {
                dir = dir.resolve(relative.getName(i));
                boolean file = i == relative.getNameCount() - 1 && fileTargets.contains(Path.of(target).normalize()
                        .toString());
                if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                    if (file) {
                        Files.createFile(dir); // a bound file's mount point is a file
                    } else {
                        Files.createDirectory(dir);
                    }
                } else if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                    break;
                }
            }
        }
    }

    /** {@code vda}, {@code vdb}, … {@code vdz}, {@code vdaa}, … as libvirt names virtio disks. */
    static String deviceName(int index) {
        StringBuilder letters = new StringBuilder();
        for (int i = index; i >= 0; i = i / 26 - 1) {
            letters.insert(0, (char) ('a' + i % 26));
        }
        return "vd" + letters;
    }

    /** True for a block device, false for a regular file; anything else is refused. */
    private static boolean isBlockDevice(String field, Path path) {
        if (!path.isAbsolute()) {
            throw VesselException.invalid(field, "must be an absolute path, not '" + path + "'");
        }
        if (!Files.exists(path)) {
            throw VesselException.invalid(field, "'" + path + "' does not exist on this node");
        }
        if (Files.isRegularFile(path)) {
            return false;
        }
        try {
            if (((Integer) Files.getAttribute(path, "unix:mode") & S_IFMT) == S_IFBLK) {
                return true;
            }
        } catch (IOException e) {
            throw VesselException.invalid(field, "cannot read what '" + path + "' is: " + e.getMessage());
        }
        throw VesselException.invalid(field, "'" + path + "' is neither a disk image file nor a block device");
    }

    /** The tmpfs filesystem/linux planned, back as a volume: its size, mode and noexec (nosuid, nodev are a given). */
    private static TmpfsVolume tmpfs(Mount m) {
        TmpfsVolume.Builder tmpfs = TmpfsVolume.newBuilder();
        for (String option : m.getOptionsList()) {
            if (option.startsWith("size=")) {
                tmpfs.setSizeBytes(Long.parseLong(option.substring("size=".length())));
            } else if (option.startsWith("mode=")) {
                tmpfs.setMode(Integer.parseInt(option.substring("mode=".length()), 8));
            } else if (option.equals("noexec")) {
                tmpfs.setNoexec(true);
            }
        }
        return tmpfs.build();
    }
}
