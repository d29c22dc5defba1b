package dev.vessel.launcher.vm.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.agent.GuestMount;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Mount;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.model.VmDisk;
import dev.vessel.linux.DeviceNodes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** From filesystem/linux's plan and the VM disks to shares, disks and what the guest mounts. */
class VmVolumesTest {
    @TempDir
    Path tmp;

    @Test
    void bindsBecomeSharesTmpfsStaysAGuestTmpfsAndDisksWithATargetAreMounted() throws Exception {
        Path image = Files.writeString(tmp.resolve("data.img"), "");
        Path scratch = Files.writeString(tmp.resolve("scratch.qcow2"), "");
        Path data = Files.createDirectories(tmp.resolve("data"));
        Path conf = Files.createDirectories(tmp.resolve("conf"));
        VmVolumes v = VmVolumes.plan(List.of(
                        Mount.newBuilder().setSource(data.toString()).setTarget("/data").setType("rbind").build(),
                        Mount.newBuilder().setSource(conf.toString()).setTarget("/conf").setType("bind").addOptions("ro").build(),
                        Mount.newBuilder().setSource("tmpfs").setTarget("/tmp").setType("tmpfs")
                                .addOptions("nosuid").addOptions("mode=700").addOptions("noexec")
                                .addOptions("size=1048576").build()),
                List.of(VmDisk.newBuilder().setPath(image.toString()).setTarget("/mnt/data").setReadOnly(true).build(),
                        VmDisk.newBuilder().setPath(scratch.toString()).setFormat("qcow2").build()));

        assertEquals(List.of(new VmVolumes.VolumeShare("vessel-vol0", data, false),
                new VmVolumes.VolumeShare("vessel-vol1", conf, true)), v.shares());
        assertEquals(List.of(new VmVolumes.AttachedDisk(image, "raw", true, false, "vessel-disk0", "vda"),
                new VmVolumes.AttachedDisk(scratch, "qcow2", false, false, "vessel-disk1", "vdb")), v.disks());

        List<GuestMount> guest = v.guestMounts();
        assertEquals(4, guest.size(), guest::toString);
        assertEquals("vessel-vol0", guest.get(0).getShareTag());
        assertEquals("/data", guest.get(0).getTarget());
        assertFalse(guest.get(0).getReadOnly());
        assertEquals("vessel-vol1", guest.get(1).getShareTag());
        assertTrue(guest.get(1).getReadOnly());
        assertEquals(TmpfsVolume.newBuilder().setSizeBytes(1048576).setMode(0700).setNoexec(true).build(),
                guest.get(2).getTmpfs(), "size, mode and noexec reach the guest");
        assertEquals("/tmp", guest.get(2).getTarget());
        assertEquals("vessel-disk0", guest.get(3).getDisk().getSerial());
        assertEquals("ext4", guest.get(3).getDisk().getFsType());
        assertEquals("/mnt/data", guest.get(3).getTarget());
        assertTrue(guest.get(3).getReadOnly());
    }

    @Test
    void aBlockDeviceIsAttachedAsOne() throws Exception {
        Path device = tmp.resolve("blk");
        DeviceNodes.create(device, DeviceNodes.Kind.BLOCK, 0600, 7, 0);
        VmVolumes v = VmVolumes.plan(List.of(), List.of(VmDisk.newBuilder().setPath(device.toString()).build()));
        assertTrue(v.disks().getFirst().blockDevice(), v::toString);
        assertEquals(List.of(), v.guestMounts(), "no target: attached, not mounted");
    }

    @Test
    void aDiskThatIsNoImageNorDeviceIsRefusedNamingItsField() throws Exception {
        Path image = Files.writeString(tmp.resolve("ok.img"), "");
        for (Path bad : List.of(tmp.resolve("missing.img"), Files.createDirectories(tmp.resolve("a-dir")))) {
            VesselException e = assertThrows(VesselException.class, () -> VmVolumes.plan(List.of(), List.of(
                    VmDisk.newBuilder().setPath(image.toString()).build(),
                    VmDisk.newBuilder().setPath(bad.toString()).build())));
            assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
            assertEquals("vm.disks[1].path", e.field().orElseThrow(), e.getMessage());
            assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
        }
    }

    /** A file is shared as a directory of its own holding it alone, never with its neighbours. */
    /** Files bound from one host directory (podman's hosts and resolv.conf) share one directory, one device. */
    @Test
    void filesBoundFromOneDirectoryShareOneDirectory() throws Exception {
        Path userdata = Files.createDirectories(tmp.resolve("userdata"));
        Path hosts = Files.writeString(userdata.resolve("hosts"), "x");
        Path resolv = Files.writeString(userdata.resolve("resolv.conf"), "x");
        Path other = Files.writeString(tmp.resolve("app.conf"), "x");
        Path files = tmp.resolve("vm-files");
        VmVolumes volumes = VmVolumes.plan(List.of(fileBind(hosts, "/etc/hosts", true),
                fileBind(other, "/etc/app.conf", true), fileBind(resolv, "/etc/resolv.conf", false)), List.of(), files);

        assertEquals(List.of(new VmVolumes.VolumeShare("vessel-vol0", files.resolve("0"), false),
                new VmVolumes.VolumeShare("vessel-vol1", files.resolve("1"), true)), volumes.shares(),
                "userdata's share became writable with its writable file; app.conf's is its own");
        assertEquals(List.of(files.resolve("0/hosts"), files.resolve("1/app.conf"), files.resolve("0/resolv.conf")),
                volumes.files().stream().map(VmVolumes.FileShare::bound).toList());
        assertEquals(List.of(true, true, false), volumes.files().stream().map(VmVolumes.FileShare::readOnly).toList(),
                "each file's bind keeps its own read-only");
        assertEquals(List.of("vessel-vol0/hosts", "vessel-vol1/app.conf", "vessel-vol0/resolv.conf"),
                volumes.guestMounts().stream().map(m -> m.getShareTag() + "/" + m.getShareFile()).toList());
        assertEquals(List.of(true, true, false), volumes.guestMounts().stream().map(GuestMount::getReadOnly).toList());
    }

    private static Mount fileBind(Path file, String target, boolean readOnly) {
        Mount.Builder m = Mount.newBuilder().setSource(file.toString()).setTarget(target).setType("bind");
        return (readOnly ? m.addOptions("ro") : m).build();
    }

    @Test
    void aBindOfAFileIsSharedAsADirectoryOfItsOwn() throws Exception {
        Path file = Files.writeString(tmp.resolve("app.conf"), "x");
        List<Mount> mounts = List.of(Mount.newBuilder().setSource(tmp.toString()).setTarget("/data").setType("rbind")
                .addOptions("nosuid").addOptions("nodev").build(), Mount.newBuilder().setSource(file.toString()).setTarget("/etc/app.conf").setType("bind")
                .addOptions("ro").build());
        Path files = tmp.resolve("vm-files");
        VmVolumes volumes = VmVolumes.plan(mounts, List.of(), files);
        assertEquals(List.of(new VmVolumes.VolumeShare("vessel-vol0", tmp, false),
                new VmVolumes.VolumeShare("vessel-vol1", files.resolve("0"), true)), volumes.shares());
        assertEquals(List.of(new VmVolumes.FileShare(file, files.resolve("0"), true, "vessel-vol1")), volumes.files());
        assertEquals(files.resolve("0/app.conf"), volumes.files().getFirst().bound());
        assertEquals(GuestMount.newBuilder().setTarget("/etc/app.conf").setReadOnly(true).setShareTag("vessel-vol1")
                .setShareFile("app.conf").build(), volumes.guestMounts().get(1));
        assertEquals(List.of("nosuid", "nodev"), volumes.guestMounts().get(0).getOptionsList(), "the guest's bind applies them");

        // its mount point in a host_rootfs is a file
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs"));
        volumes.makeMountPointsIn(rootfs, false);
        assertTrue(Files.isRegularFile(rootfs.resolve("etc/app.conf")));
        assertTrue(Files.isDirectory(rootfs.resolve("data")));

        VesselException e = assertThrows(VesselException.class, () -> VmVolumes.plan(mounts.subList(1, 2), List.of()));
        assertEquals("volumes", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("is a file: this guest can be given directories only"), e.getMessage());
        e = assertThrows(VesselException.class, () -> VmVolumes.plan(List.of(Mount.newBuilder().setSource("/dev/null")
                .setTarget("/dev/x").setType("bind").build()), List.of(), files));
        assertTrue(e.getMessage().contains("neither a directory nor a file"), e.getMessage());
    }

    @Test
    void aWritableShareNeedsUserXattrsAReadOnlyOneDoesNot() throws Exception {
        // procfs keeps no user xattrs, as tmpfs before Linux 6.6 and vfat do not
        Path noXattrs = Path.of("/proc/sys");
        VesselException e = assertThrows(VesselException.class, () -> VmVolumes.plan(List.of(Mount.newBuilder()
                .setSource(noXattrs.toString()).setTarget("/data").setType("bind").build()), List.of()));
        assertEquals("volumes", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("'/proc/sys' (for /data) is on a filesystem without user extended "
                + "attributes"), e.getMessage());

        VmVolumes readOnly = VmVolumes.plan(List.of(Mount.newBuilder().setSource(noXattrs.toString())
                .setTarget("/data").setType("bind").addOptions("ro").build()), List.of());
        assertEquals(List.of(new VmVolumes.VolumeShare("vessel-vol0", noXattrs, true)), readOnly.shares());
    }

    /** The guest acts on a host_rootfs as QEMU's user: the host makes what the guest will mount on. */
    @Test
    void mountPointsAreMadeInAHostRootfsWithTheReadOnlyRootfsTmpfs() throws Exception {
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs"));
        Files.createDirectories(rootfs.resolve("var"));
        VmVolumes volumes = VmVolumes.plan(List.of(Mount.newBuilder().setSource("tmpfs").setTarget("/scratch/a")
                .setType("tmpfs").build()), List.of());
        volumes.makeMountPointsIn(rootfs, false);
        assertTrue(Files.isDirectory(rootfs.resolve("scratch/a")));
        assertFalse(Files.exists(rootfs.resolve("run")));
        volumes.makeMountPointsIn(rootfs, true);
        for (String dir : List.of("run", "tmp", "var/tmp")) {
            assertTrue(Files.isDirectory(rootfs.resolve(dir)), dir);
        }
    }

    @Test
    void deviceNamesFollowLibvirts() {
        assertEquals("vda", VmVolumes.deviceName(0));
        assertEquals("vdz", VmVolumes.deviceName(25));
        assertEquals("vdaa", VmVolumes.deviceName(26));
        assertEquals("vdab", VmVolumes.deviceName(27));
    }
}
