package dev.vessel.isolators.filesystem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.HostPathVolume;
import dev.vessel.core.model.PersistentVolume;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.model.Volume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** filesystem/linux with real busybox containers through the unified containerizer. */
class LinuxFilesystemIsolatorTest {
    @TempDir
    static Path tmp;

    static VolumeNode node;
    List<String> hostMountsBefore;

    @BeforeAll
    static void startNode() throws Exception {
        node = VolumeNode.start(tmp);
    }

    @AfterAll
    static void stopNode() {
        node.destroyAll();
    }

    @BeforeEach
    void recordHostMounts() throws Exception {
        hostMountsBefore = VolumeNode.hostMounts();
    }

    /** Every mount was made in the container's mount namespace and went away with it. */
    @AfterEach
    void hostMountsAreUnchanged() throws Exception {
        node.destroyAll();
        assertEquals(hostMountsBefore, VolumeNode.hostMounts(), "the host's /proc/self/mountinfo changed");
    }

    static Volume hostPath(String target, Path source, boolean readOnly) {
        return Volume.newBuilder().setTarget(target).setReadOnly(readOnly)
                .setHostPath(HostPathVolume.newBuilder().setPath(source.toString())).build();
    }

    static Volume persistent(String target, String name) {
        return Volume.newBuilder().setTarget(target).setPersistent(PersistentVolume.newBuilder().setName(name)).build();
    }

    @Test
    void aFileWrittenInAReadWriteHostPathVolumeIsOnTheHost() throws Exception {
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        Termination t = node.run(node.config("rw", "echo hello from inside > /shared/greeting")
                .addVolumes(hostPath("/shared", shared, false)).build());
        assertEquals(0, t.getExitCode(), t + node.stderr("rw"));
        assertEquals("hello from inside\n", Files.readString(shared.resolve("greeting")));
    }

    @Test
    void aReadOnlyHostPathVolumeRefusesWrites() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("readonly"));
        Files.writeString(data.resolve("seed"), "seeded");
        Termination t = node.run(node.config("ro", "cat /ro/seed; echo x > /ro/new")
                .addVolumes(hostPath("/ro", data, true)).build());
        assertNotEquals(0, t.getExitCode(), t.toString());
        assertEquals("seeded", node.stdout("ro"));
        assertTrue(node.stderr("ro").contains("Read-only file system"), node.stderr("ro"));
        assertFalse(Files.exists(data.resolve("new")));
    }

    @Test
    void aTmpfsVolumeHasItsSizeAndRefusesToGrowPastIt() throws Exception {
        Volume scratch = Volume.newBuilder().setTarget("/scratch")
                .setTmpfs(TmpfsVolume.newBuilder().setSizeBytes(1 << 20)).build();
        Termination t = node.run(node.config("tmpfs",
                "stat -c %a /scratch; df -k /scratch | tail -n 1; dd if=/dev/zero of=/scratch/fill bs=1024 count=2048")
                .addVolumes(scratch).build());
        assertNotEquals(0, t.getExitCode(), t.toString());
        List<String> out = node.stdout("tmpfs").lines().toList();
        assertEquals("1777", out.get(0));
        assertEquals("1024", out.get(1).trim().split("\\s+")[1], "df: " + out.get(1));
        assertTrue(node.stderr("tmpfs").contains("No space left on device"), node.stderr("tmpfs"));
        assertFalse(Files.exists(node.rootfs.resolve("scratch/fill")), "the tmpfs was not mounted over the rootfs");
    }

    @Test
    void aPersistentVolumeOutlivesItsContainerAndARestartOfTheContainerizer() throws Exception {
        Termination first = node.run(node.config("writer", "echo kept > /data/file")
                .addVolumes(persistent("/data", "keep")).build());
        assertEquals(0, first.getExitCode(), first + node.stderr("writer"));
        node.containerizer().remove("writer");
        assertEquals("kept\n", Files.readString(node.paths.persistentVolume("keep").resolve("file")));

        node.restart();
        Termination second = node.run(node.config("reader", "cat /data/file")
                .addVolumes(persistent("/data", "keep")).build());
        assertEquals(0, second.getExitCode(), second + node.stderr("reader"));
        assertEquals("kept\n", node.stdout("reader"));
    }

    @Test
    void aMissingHostPathIsRefusedBeforeAnythingIsCreated() {
        Path missing = tmp.resolve("no-such-dir");
        ContainerConfig config = node.config("missing", "true")
                .addVolumes(persistent("/p", "never-made"))
                .addVolumes(hostPath("/host", missing, false))
                .addVolumes(Volume.newBuilder().setTarget("/made-by-mistake").setTmpfs(TmpfsVolume.getDefaultInstance()))
                .build();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer().launch(config));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code(), e.getMessage());
        assertEquals("volumes[1].host_path.path", e.field().orElseThrow(), e.getMessage());
        assertTrue(e.getMessage().contains("'" + missing + "' does not exist"), e.getMessage());
        assertFalse(Files.exists(missing));
        assertFalse(Files.exists(node.paths.volumeDir("never-made")));
        assertFalse(Files.exists(node.rootfs.resolve("made-by-mistake")));
        assertFalse(Files.exists(node.paths.containerDir(List.of("missing"))));
        assertTrue(node.containerizer().list().stream().noneMatch(s -> s.getId().equals("missing")));
    }

    /**
     * rootfs/escape is a symlink to the host's /etc. The helper resolves the target inside the
     * rootfs, so the volume lands on rootfs/etc (in the container's namespace only), never on /etc.
     */
    @Test
    void aSymlinkPointingOutOfTheRootfsCannotMakeAVolumeLandOnTheHost() throws Exception {
        Path source = Files.createDirectories(tmp.resolve("escape-source"));
        Files.writeString(source.resolve("vessel-marker"), "from the volume");
        Path link = Files.createSymbolicLink(node.rootfs.resolve("escape"), Path.of("/etc"));
        String hostEtcBefore = Files.readString(Path.of("/etc/hostname"));
        try {
            Termination t = node.run(node.config("escape",
                    "cat /etc/vessel-marker; touch /escape/written; ls /etc")
                    .addVolumes(hostPath("/escape", source, false)).build());
            assertEquals(0, t.getExitCode(), t + node.stderr("escape"));
            assertTrue(node.stdout("escape").startsWith("from the volume"), node.stdout("escape"));
            assertFalse(node.stdout("escape").contains("passwd"), "rootfs/etc was not covered: " + node.stdout("escape"));
            assertTrue(Files.exists(source.resolve("written")));
            assertFalse(Files.exists(Path.of("/etc/vessel-marker")));
            assertFalse(Files.exists(Path.of("/etc/written")));
            assertEquals(hostEtcBefore, Files.readString(Path.of("/etc/hostname")));
            assertTrue(Files.exists(node.rootfs.resolve("etc/passwd")), "the rootfs's own /etc is intact");
            assertFalse(Files.exists(node.rootfs.resolve("etc/written")));
        } finally {
            Files.delete(link);
        }
    }
}
