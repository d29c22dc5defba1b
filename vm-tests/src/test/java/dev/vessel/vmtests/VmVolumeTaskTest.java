package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.FetchUri;
import dev.vessel.core.model.FetchedUri;
import dev.vessel.core.model.HostPathVolume;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.PersistentVolume;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.model.VmDisk;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.model.Volume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A VM task's volumes and disks, end to end in one real guest (boots are costly under TCG): host
 * directories shared read-write (a file of one written through a shared mapping) and read-only, a persistent
 * volume, a tmpfs made in the guest, and ext4 disks (raw and qcow2) built with mke2fs and mounted at targets;
 * then destroy leaves nothing behind but the volumes' data.
 */
class VmVolumeTaskTest {
    private static VmNode node;
    private static ImageReference image;

    @BeforeAll
    static void startNode() throws Exception {
        node = VmNode.inNewDir("vessel-vmvolumes-");
        image = VmNode.busyboxImage(node.dir);
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.destroyAllCloseAndDeleteDir();
        }
    }

    private static ContainerConfig.Builder vmTask(String id, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).setImage(image)
                .addAllCommand(List.of("/bin/sh", "-c", script));
    }

    private static Volume.Builder hostPath(String target, Path source) {
        return Volume.newBuilder().setTarget(target).setHostPath(HostPathVolume.newBuilder().setPath(source.toString()));
    }

    @Test
    void sharesTmpfsAndDisksReachTheTaskAndDestroyLeavesNothing() throws Exception {
        Path data = Files.createDirectories(node.dir.resolve("data"));
        buildMapWrite(data.resolve("map-write"));
        Path conf = Files.createDirectories(node.dir.resolve("conf"));
        Files.writeString(conf.resolve("seed"), "seeded by the host\n");
        Path diskFiles = Files.createDirectories(node.dir.resolve("disk-files"));
        Files.writeString(diskFiles.resolve("hello.txt"), "hello from the disk\n");
        Path raw = node.dir.resolve("data.img");
        VmNode.run("mke2fs", "-q", "-F", "-t", "ext4", "-d", diskFiles.toString(), raw.toString(), "16M");
        Path qcow2 = node.dir.resolve("copy.qcow2");
        VmNode.run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString());

        String id = "vol-all";
        node.containerizer.launch(vmTask(id, String.join("; ",
                "echo from the guest > /data/out",
                "echo kept across tasks > /kept/note",
                "cat /conf/seed",
                "echo x > /conf/new || echo conf refused the write",
                "cat /disk/hello.txt",
                "echo kept > /disk/written",
                "cat /disk2/hello.txt",
                "echo y > /disk2/new || echo disk2 refused the write",
                "echo t > /scratch/t && grep ' /scratch ' /proc/mounts | grep -q tmpfs && echo scratch is a tmpfs",
                "/data/map-write /data/mapped && echo mapped a file of the volume",
                "/data/map-write --no-msync /data/unsynced && echo mapped without msync",
                "echo done; sleep 1000"))
                .addVolumes(hostPath("/data", data))
                .addVolumes(hostPath("/conf", conf).setReadOnly(true))
                .addVolumes(Volume.newBuilder().setTarget("/kept").setPersistent(PersistentVolume.newBuilder()
                        .setName("vol-kept")))
                .addVolumes(Volume.newBuilder().setTarget("/scratch").setTmpfs(TmpfsVolume.newBuilder().setSizeBytes(4 << 20)))
                .setVm(VmOptions.newBuilder()
                        .addDisks(VmDisk.newBuilder().setPath(raw.toString()).setTarget("/disk").setFsType("ext4"))
                        .addDisks(VmDisk.newBuilder().setPath(qcow2.toString()).setFormat("qcow2").setTarget("/disk2")
                                .setReadOnly(true)))
                .build());
        String stdout = awaitStdout(id, "done\n");
        assertEquals("seeded by the host\nconf refused the write\nhello from the disk\nhello from the disk\n"
                + "disk2 refused the write\nscratch is a tmpfs\nmapped a file of the volume\nmapped without msync\ndone\n",
                stdout, () -> stdout + stderr(id));
        assertTrue(stderr(id).contains("Read-only file system"), () -> stderr(id));
        assertEquals("from the guest\n", Files.readString(data.resolve("out")), "the host sees the task's file");
        assertEquals("written through a shared mapping\n", Files.readString(data.resolve("mapped")),
                "the host sees what the task wrote through a shared mapping");
        assertEquals("written through a shared mapping\n", Files.readString(data.resolve("unsynced")),
                "the host sees what a process wrote through a shared mapping it never synced, once it exited");
        assertFalse(Files.exists(conf.resolve("new")), "a read-only volume was written");
        Path persistent = node.paths.persistentVolume("vol-kept");
        assertEquals("kept across tasks\n", Files.readString(persistent.resolve("note")));

        long qemu = node.containerizer.status(id).getPid();
        Termination t = node.containerizer.destroy(id);
        assertEquals(TerminationReason.KILLED, t.getReason(), t::toString);
        node.containerizer.remove(id);
        assertFalse(VmNode.domains().stream().anyMatch(d -> d.contains(id)), "a domain was left behind");
        assertFalse(ProcessHandle.of(qemu).map(ProcessHandle::isAlive).orElse(false), "QEMU still runs");
        assertFalse(Files.exists(node.paths.containerDir(List.of(id))), "the container's directory was left");
        assertFalse(Files.exists(node.paths.provisionedRootfsDir(id)), "the rootfs was left");
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(node.dir.toString() + "/"),
                "a mount under the test's directory was left");
        // what the task wrote to the read-write disk was flushed before the VM went
        assertEquals("kept\n", VmNode.run("debugfs", "-R", "cat /written", raw.toString()).lines()
                .filter(l -> !l.startsWith("debugfs")).reduce("", (a, b) -> a + b + "\n"));
        assertEquals("from the guest\n", Files.readString(data.resolve("out")), "the volume's data stays");
        assertTrue(Files.exists(persistent.resolve("note")), "a persistent volume outlives its task");
    }

    @Test
    void volumesAndDisksAGuestCannotTakeAreRefusedNamingTheFieldBeforeAnyDomain() throws Exception {
        List<String> before = VmNode.domains();
        VesselException notADirectory = assertThrows(VesselException.class, () -> node.containerizer.launch(
                vmTask("vol-file", "true").addVolumes(hostPath("/dev/app", Path.of("/dev/null"))).build()));
        assertEquals(Optional.of("volumes[0].host_path.path"), notADirectory.field(), notADirectory::getMessage);
        assertTrue(notADirectory.getMessage().contains("neither a directory nor a file"), notADirectory::getMessage);

        VesselException noDisk = assertThrows(VesselException.class, () -> node.containerizer.launch(
                vmTask("vol-nodisk", "true").setVm(VmOptions.newBuilder().addDisks(VmDisk.newBuilder()
                        .setPath(node.dir.resolve("missing.img").toString()).setTarget("/disk"))).build()));
        assertEquals(Optional.of("vm.disks[0].path"), noDisk.field(), noDisk::getMessage);
        assertTrue(noDisk.getMessage().contains("does not exist"), noDisk::getMessage);

        assertEquals(before, VmNode.domains());
        assertFalse(node.containerizer.list().stream().anyMatch(s -> s.getId().startsWith("vol-")));
    }

    /**
     * Fetched artifacts reach a VM task as a process task's: the sandbox, shared with the guest, at /vessel/sandbox,
     * named by VESSEL_SANDBOX and the working directory; a fetched file read, a fetched archive's script run.
     */
    @Test
    void fetchedArtifactsReachTheTaskInItsGuest() throws Exception {
        Path artifacts = Files.createDirectories(node.dir.resolve("artifacts"));
        Files.writeString(artifacts.resolve("hello.txt"), "hello from the host\n");
        Path tool = Files.createDirectories(node.dir.resolve("archive/tool"));
        Files.writeString(tool.resolve("run.sh"), "#!/bin/sh\necho \"the tool ran in $(pwd)\"\n");
        Files.setPosixFilePermissions(tool.resolve("run.sh"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        VmNode.run("tar", "-czf", artifacts.resolve("tool.tar.gz").toString(), "-C", node.dir.resolve("archive").toString(), "tool");

        String id = "vm-fetch";
        node.containerizer.launch(vmTask(id, "pwd; cat hello.txt; ./tool/run.sh; echo \"$VESSEL_SANDBOX $MESOS_SANDBOX\";"
                + " echo made in the guest > out.txt; echo done; sleep 1000")
                .addUris(FetchUri.newBuilder().setUri(artifacts.resolve("hello.txt").toUri().toString()))
                .addUris(FetchUri.newBuilder().setUri(artifacts.resolve("tool.tar.gz").toUri().toString()).setExtract(true))
                .build());
        String stdout = awaitStdout(id, "done\n");
        assertEquals("/vessel/sandbox\nhello from the host\nthe tool ran in /vessel/sandbox\n"
                + "/vessel/sandbox /vessel/sandbox\ndone\n", stdout, () -> stdout + stderr(id));
        Path sandbox = node.paths.sandboxDir(node.paths.containerDir(List.of(id)));
        assertEquals("made in the guest\n", Files.readString(sandbox.resolve("out.txt")), "the host sees the task's file");
        assertEquals(List.of("/vessel/sandbox/hello.txt", "/vessel/sandbox"), node.containerizer.status(id).getFetchedList()
                .stream().map(FetchedUri::getPath).toList());

        node.containerizer.destroy(id);
        node.containerizer.remove(id);
        assertFalse(Files.exists(node.paths.containerDir(List.of(id))), "the container's directory was left");
    }

    /**
     * A static program that writes a file through a shared, writable mapping, as SQLite's WAL index and LMDB do: a
     * share whose pages the guest only maps read-only refuses it (EINVAL).
     */
    private static void buildMapWrite(Path binary) throws Exception {
        Path source = binary.resolveSibling("map-write.c");
        try (var in = VmVolumeTaskTest.class.getResourceAsStream("/map-write.c")) {
            Files.copy(in, source);
        }
        VmNode.run("gcc", "-static", "-O2", "-o", binary.toString(), source.toString());
        Files.delete(source);
    }

    private static String awaitStdout(String id, String text) throws Exception {
        Path log = node.paths.stdoutLog(node.paths.containerDir(List.of(id)));
        long deadline = System.nanoTime() + 5L * 60 * 1_000_000_000;
        while (System.nanoTime() < deadline) {
            String out = Files.exists(log) ? Files.readString(log) : "";
            if (out.contains(text)) {
                return out;
            }
            var state = node.containerizer.status(id);
            if (state.hasTermination()) {
                throw new AssertionError("the task ended before printing '" + text + "': " + state.getTermination()
                        + "\nstdout: " + out + "\nstderr: " + stderr(id));
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + text + "' in the stdout of " + id + " within 5 minutes");
    }

    private static String stderr(String id) {
        try {
            return Files.readString(node.paths.stderrLog(node.paths.containerDir(List.of(id))));
        } catch (Exception e) {
            return e.toString();
        }
    }
}
