package dev.vessel.launcher.vm.domain;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.linux.PosixAcls;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Gives QEMU's unprivileged user what one domain needs, and nothing more, before libvirt starts it
 * (libvirt relabels nothing, see {@link DomainXml}): search access down to each path QEMU opens, read
 * access to the kernel and initramfs, the volume shares and disks at the access the task has to them
 * (an ACL entry for that user alone; a writable share's default ACL too, so what the host adds later is
 * reachable). Vessel's own directories on the way are opened to that user for searching; an operator's
 * directory that user cannot search is refused, naming the field, rather than opened behind their back.
 */
public final class QemuAccess {
    private final QemuUser qemu;
    private final Path stateDir;
    private final Path runDir;

    /** {@code stateDir} and {@code runDir}: Vessel's own trees, whose directories are opened for searching. */
    public QemuAccess(QemuUser qemu, Path stateDir, Path runDir) {
        this.qemu = qemu;
        this.stateDir = stateDir.toAbsolutePath().normalize();
        this.runDir = runDir.toAbsolutePath().normalize();
    }

    /**
     * Checks and grants what the domain of {@code spec} opens; throws naming the field QEMU could not
     * reach. Everything is checked before anything is granted: a refusal changes nothing.
     */
    public void prepare(VmSpec spec) throws IOException {
        checkOwnTrees();
        check("vm.kernel", spec.kernel(), PosixAcls.READ);
        check("vm.initrd", spec.initrd(), PosixAcls.READ);
        boolean sharesRootfs = spec.rootfsServerSocket().isEmpty(); // else the file server opens it, not QEMU
        if (sharesRootfs) {
            check("root", spec.rootfs(), PosixAcls.READ | PosixAcls.EXECUTE);
        }
        for (VmVolumes.VolumeShare share : spec.volumes().shares()) {
            check("volumes", share.source(), 0);
        }
        for (VmVolumes.AttachedDisk disk : spec.volumes().disks()) {
            check("vm.disks", disk.path(), 0);
        }

        openWayTo(spec.kernel());
        openWayTo(spec.initrd());
        if (sharesRootfs) {
            openWayTo(spec.rootfs());
        } else {
            openWayTo(spec.rootfsServerSocket().get().getParent()); // the socket itself once it exists: grantFileServer
        }
        for (VmVolumes.VolumeShare share : spec.volumes().shares()) {
            openWayTo(share.source());
            int perms = PosixAcls.READ | PosixAcls.EXECUTE | (share.readOnly() ? 0 : PosixAcls.WRITE);
            qemu.allow(share.source(), perms);
            if (!share.readOnly()) {
                qemu.allowByDefault(share.source(), perms);
            }
        }
        for (VmVolumes.AttachedDisk disk : spec.volumes().disks()) {
            openWayTo(disk.path());
            qemu.allow(disk.path(), PosixAcls.READ | (disk.readOnly() ? 0 : PosixAcls.WRITE));
        }
        for (VmVolumes.FileShare file : spec.volumes().files()) {
            // QEMU reaches the file through its bind in the share, not through the file's own directories
            int perms = PosixAcls.READ | (file.readOnly() ? 0 : PosixAcls.WRITE);
            if (!qemu.may(file.file(), perms)) {
                qemu.allow(file.file(), perms);
            }
        }
    }

    /**
     * Lets QEMU's user connect to the socket of a task's rootfs file server ({@code vm.keep_rootfs_owners}), which
     * exists once the server listens; {@link #prepare} opened the way to the socket's directory.
     */
    public void grantFileServer(Path socket) throws IOException {
        if (!qemu.may(socket.getParent(), PosixAcls.EXECUTE)) {
            qemu.allow(socket.getParent(), PosixAcls.EXECUTE);
        }
        qemu.allow(socket, PosixAcls.READ | PosixAcls.WRITE);
    }

    /**
     * Checks and grants what a VM pod's member adds to its pod's running domain: its rootfs, bound into
     * the pod's share. Throws naming {@code root} when QEMU's user could not read it.
     */
    public void prepareMemberRootfs(Path rootfs) throws IOException {
        checkOwnTrees();
        check("root", rootfs, PosixAcls.READ | PosixAcls.EXECUTE);
        openWayTo(rootfs);
    }

    /**
     * The same for a full VM: its base image read, its own disk and the disks written or read, its
     * seed read. The disk and the seed may not exist yet: their directories are checked first, and
     * {@link #grantMachine} lets QEMU's user in once they are made.
     */
    public void checkMachine(MachineSpec spec) throws IOException {
        checkOwnTrees();
        // a base image in Vessel's own store (fetched by URL) is let in below; any other must be readable already
        check("vm.machine.base_image", spec.base().path(), isOwn(spec.base().path()) ? 0 : PosixAcls.READ);
        check("vm.machine.disk", spec.disk().getParent(), 0);
        for (VmVolumes.AttachedDisk disk : spec.disks()) {
            check("vm.disks", disk.path(), 0);
        }
    }

    /** Grants what {@link #checkMachine} checked, once the disk and the seed exist. */
    public void grantMachine(MachineSpec spec) throws IOException {
        if (isOwn(spec.base().path())) {
            openWayTo(spec.base().path());
            qemu.allow(spec.base().path(), PosixAcls.READ);
        }
        openWayTo(spec.disk());
        qemu.allow(spec.disk(), PosixAcls.READ | PosixAcls.WRITE);
        if (spec.seed().isPresent()) {
            openWayTo(spec.seed().get());
            qemu.allow(spec.seed().get(), PosixAcls.READ);
        }
        for (VmVolumes.AttachedDisk disk : spec.disks()) {
            openWayTo(disk.path());
            qemu.allow(disk.path(), PosixAcls.READ | (disk.readOnly() ? 0 : PosixAcls.WRITE));
        }
    }

    /** The node's set-up, not the task's: no field of the request to name. */
    private void checkOwnTrees() throws IOException {
        for (Path own : new Path[] {stateDir, runDir}) {
            Optional<Path> blocked = qemu.firstUnsearchableParent(own);
            if (blocked.isPresent()) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, "vm", "QEMU runs as the unprivileged user "
                        + qemu.name() + ", which cannot search " + blocked.get() + " on the way to " + own
                        + ": give that user access there (e.g. setfacl -m u:" + qemu.name() + ":x " + blocked.get() + ")");
            }
        }
    }

    /**
     * Refuses a path QEMU's user could not open with {@code perms} (0: the path's own access is granted
     * later): outside the state dir, every directory on the way must let that user search it already.
     */
    private void check(String field, Path path, int perms) throws IOException {
        Path absolute = path.toAbsolutePath().normalize();
        if (!isOwn(absolute)) {
            Optional<Path> blocked = qemu.firstUnsearchableParent(absolute);
            if (blocked.isPresent()) {
                refuse(field, "cannot search " + blocked.get() + " on the way to " + path, blocked.get());
            }
        }
        if (perms != 0 && !qemu.may(absolute, perms)) {
            refuse(field, "cannot read " + path, path);
        }
    }

    private boolean isOwn(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        return absolute.startsWith(stateDir) || absolute.startsWith(runDir);
    }

    /** Vessel's own directories on the way to {@code path} become searchable by QEMU's user. */
    private void openWayTo(Path path) throws IOException {
        Path absolute = path.toAbsolutePath().normalize();
        for (Path own : new Path[] {stateDir, runDir}) {
            if (absolute.startsWith(own) && !absolute.equals(own)) {
                qemu.allowSearch(own, absolute.getParent());
            }
        }
    }

    private void refuse(String field, String problem, Path where) {
        throw VesselException.invalid(field, "QEMU runs as the unprivileged user " + qemu.name() + ", which "
                + problem + ": give that user access there (an ACL entry, e.g. setfacl -m u:" + qemu.name()
                + ":rx " + where + ")");
    }
}
