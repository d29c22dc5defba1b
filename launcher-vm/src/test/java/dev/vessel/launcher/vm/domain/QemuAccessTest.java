package dev.vessel.launcher.vm.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.linux.PosixAcls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What QEMU's unprivileged user is given before a domain starts, for an unprivileged stand-in user
 * ({@code nobody}): Vessel's own directories opened for searching, the shares and disks at the task's
 * access, and an operator's directory that user cannot reach refused, naming the field, with nothing
 * granted anywhere.
 */
class QemuAccessTest {
    private static final QemuUser QEMU = new QemuUser("nobody", 65534, 65534);
    private static final int RX = PosixAcls.READ | PosixAcls.EXECUTE;
    private static final int RWX = RX | PosixAcls.WRITE;

    @TempDir
    Path dir;
    private Path state;
    private Path kernel;
    private Path initrd;
    private Path view;

    @BeforeEach
    void setUp() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        state = Files.createDirectory(dir.resolve("state"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        kernel = Files.writeString(Files.createDirectories(dir.resolve("guest")).resolve("vmlinux"), "k");
        initrd = Files.writeString(dir.resolve("guest/initramfs.cpio"), "i");
        view = Files.createDirectories(state.resolve("vm-rootfs/c/merged"));
        Files.setPosixFilePermissions(state.resolve("vm-rootfs/c"), PosixFilePermissions.fromString("rwx------"));
    }

    @Test
    void vesselsOwnDirectoriesOpenForSearchAndSharesAndDisksAtTheTasksAccess() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path config = Files.createDirectories(dir.resolve("config"));
        Path disk = Files.writeString(dir.resolve("disk.img"), "");
        Path kept = Files.createDirectories(state.resolve("volumes/kept"));
        // a bound file in a directory QEMU's user cannot search: reached through its bind, let in on the file alone
        Path hidden = Files.createDirectory(dir.resolve("hidden"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Path conf = Files.writeString(hidden.resolve("app.conf"), "x");
        Path fileDir = Files.createDirectories(state.resolve("containers/c/vm-files/0"));
        VmVolumes volumes = new VmVolumes(List.of(new VmVolumes.VolumeShare("vessel-vol0", data, false),
                new VmVolumes.VolumeShare("vessel-vol1", config, true), new VmVolumes.VolumeShare("vessel-vol2", kept, false),
                new VmVolumes.VolumeShare("vessel-vol3", fileDir, false)),
                List.of(new VmVolumes.AttachedDisk(disk, "raw", true, false, "vessel-disk0", "vda")), List.of(),
                List.of(new VmVolumes.FileShare(conf, fileDir, false, "vessel-vol1")));

        new QemuAccess(QEMU, state, dir.resolve("run")).prepare(spec(view, kernel, volumes));

        for (Path searched : List.of(state, state.resolve("vm-rootfs"), state.resolve("vm-rootfs/c"), state.resolve("volumes"))) {
            assertTrue(QEMU.may(searched, PosixAcls.EXECUTE), searched + " is not searchable");
        }
        // the 0700 ones by an entry for that user alone, search only
        for (Path closed : List.of(state, state.resolve("vm-rootfs/c"))) {
            assertEquals(Optional.of(PosixAcls.EXECUTE), PosixAcls.userEntry(closed, QEMU.uid()), closed.toString());
            assertEquals("rwx--x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(closed)), closed.toString());
        }
        assertEquals(Optional.of(RWX), PosixAcls.userEntry(data, QEMU.uid()));
        assertEquals(Optional.of(RX), PosixAcls.userEntry(config, QEMU.uid()), "a read-only share");
        assertEquals(Optional.of(RWX), PosixAcls.userEntry(kept, QEMU.uid()));
        assertEquals(Optional.of(PosixAcls.READ), PosixAcls.userEntry(disk, QEMU.uid()), "a read-only disk");
        assertEquals(Optional.empty(), PosixAcls.userEntry(kernel, QEMU.uid()), "readable already: left as it is");
        assertEquals(Optional.of(PosixAcls.READ | PosixAcls.WRITE), PosixAcls.userEntry(conf, QEMU.uid()), "a bound file");
        assertEquals(Optional.empty(), PosixAcls.userEntry(hidden, QEMU.uid()), "the file's own directory stays closed");
    }

    @Test
    void whatTheUserCannotReachIsRefusedNamingTheFieldAndNothingIsGranted() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path closed = Files.createDirectory(dir.resolve("closed"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Path hidden = Files.createDirectories(closed.resolve("vol"));
        VmVolumes volumes = new VmVolumes(List.of(new VmVolumes.VolumeShare("vessel-vol0", data, false),
                new VmVolumes.VolumeShare("vessel-vol1", hidden, false)), List.of(), List.of(), List.of());
        QemuAccess access = new QemuAccess(QEMU, state, dir.resolve("run"));

        VesselException refused = assertThrows(VesselException.class, () -> access.prepare(spec(view, kernel, volumes)));
        assertEquals("volumes", refused.field().orElseThrow());
        assertTrue(refused.getMessage().contains("nobody, which cannot search " + closed), refused.getMessage());
        assertEquals(Optional.empty(), PosixAcls.userEntry(data, QEMU.uid()), "a refused launch granted a share");
        assertEquals(Optional.empty(), PosixAcls.userEntry(state, QEMU.uid()), "a refused launch opened the state dir");

        Path secretKernel = Files.writeString(dir.resolve("guest/secret-vmlinux"), "k");
        Files.setPosixFilePermissions(secretKernel, PosixFilePermissions.fromString("rw-------"));
        refused = assertThrows(VesselException.class, () -> access.prepare(spec(view, secretKernel, VmVolumes.none())));
        assertEquals("vm.kernel", refused.field().orElseThrow());
        assertTrue(refused.getMessage().contains("cannot read " + secretKernel), refused.getMessage());

        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        refused = assertThrows(VesselException.class, () -> access.prepare(spec(view, kernel, VmVolumes.none())));
        assertTrue(refused.getMessage().contains("cannot search " + dir + " on the way to " + state), refused.getMessage());
    }

    private VmSpec spec(Path rootfs, Path kernel, VmVolumes volumes) {
        Path containerDir = dir.resolve("run/c");
        return VmSpec.builder().containerId("c").stateDir(state).domainName(DomainNames.forContainer("c"))
                .uuid(UUID.randomUUID()).accelerator(Accelerator.TCG).qemuUser(QEMU).memoryBytes(448 * VmLauncherConfig.MIB)
                .vcpus(1).kernel(kernel).initrd(initrd).kernelCmdline("console=ttyS0").rootfs(rootfs).rootfsMapped(true)
                .agentSocket(containerDir.resolve("agent.sock")).consoleLog(containerDir.resolve("console.log"))
                .cgroupPartition("/vessel-test-vms").volumes(volumes).build();
    }
}
