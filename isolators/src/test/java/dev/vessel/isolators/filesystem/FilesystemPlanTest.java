package dev.vessel.isolators.filesystem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Device;
import dev.vessel.core.model.DockerVolume;
import dev.vessel.core.model.FetchUri;
import dev.vessel.core.model.HostPathVolume;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Mount;
import dev.vessel.core.model.PersistentVolume;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.model.Volume;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.isolators.testing.DirectPrepareContext;
import dev.vessel.isolators.volume.DockerVolumeIsolator;
import dev.vessel.isolators.volume.DockerVolumeMounts;
import dev.vessel.isolators.volume.VolumeKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The mount plan filesystem/linux computes, without running a container: for a VM task the VM
 * launcher turns it into shares, so its sources must be resolved the same way as for a process.
 */
class FilesystemPlanTest {
    @TempDir
    Path tmp;

    @Test
    void volumeIsolatorsTakePartInVmTasksOnTheHost() {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        assertTrue(new LinuxFilesystemIsolator(paths).appliesTo(Isolation.VM));
        assertTrue(new DockerVolumeIsolator(paths, tmp, Duration.ofSeconds(1)).appliesTo(Isolation.VM));
        assertTrue(new LinuxFilesystemIsolator(paths).appliesTo(Isolation.PROCESS));
    }

    @Test
    void aVmTasksVolumesResolveToHostDirectoriesAndTmpfs() throws Exception {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        Path data = Files.createDirectories(tmp.resolve("data"));
        Path plugin = Files.createDirectories(tmp.resolve("plugin-mount"));
        ContainerConfig config = vm()
                .addVolumes(hostPath("/data", data).setReadOnly(true))
                .addVolumes(Volume.newBuilder().setTarget("/data/kept")
                        .setPersistent(PersistentVolume.newBuilder().setName("kept")))
                .addVolumes(Volume.newBuilder().setTarget("/scratch").setTmpfs(TmpfsVolume.newBuilder().setSizeBytes(1 << 20)))
                .addVolumes(Volume.newBuilder().setTarget("/plugin").setDocker(DockerVolume.newBuilder()
                        .setDriver("d").setName("n")))
                .build();
        LaunchInfo plan = new LinuxFilesystemIsolator(paths).prepare(context(config,
                Map.of(VolumeKeys.DOCKER_MOUNTS, new DockerVolumeMounts(Map.of(3, plugin)))));

        Map<String, Mount> byTarget = new HashMap<>();
        plan.getMountsList().forEach(m -> byTarget.put(m.getTarget(), m));
        assertEquals(data.toString(), byTarget.get("/data").getSource());
        assertEquals(List.of("ro"), byTarget.get("/data").getOptionsList());
        assertEquals(paths.persistentVolume("kept").toString(), byTarget.get("/data/kept").getSource());
        assertTrue(Files.isDirectory(paths.persistentVolume("kept")), "the persistent volume is created");
        assertEquals("tmpfs", byTarget.get("/scratch").getType());
        assertTrue(byTarget.get("/scratch").getOptionsList().contains("size=" + (1 << 20)), plan::toString);
        assertEquals(plugin.toString(), byTarget.get("/plugin").getSource());
        assertEquals("/data", plan.getMounts(0).getTarget(), "parents come before children");
    }

    @Test
    void aVmTasksHostPathMustBeADirectoryOrAFileWhileAProcessMayBindAnything() throws Exception {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        Path file = Files.writeString(tmp.resolve("config.ini"), "x=1");
        Path device = Path.of("/dev/null");
        Map<Key<?>, Object> noDocker = Map.of(VolumeKeys.DOCKER_MOUNTS, new DockerVolumeMounts(Map.of()));

        VesselException e = assertThrows(VesselException.class, () -> new LinuxFilesystemIsolator(paths)
                .prepare(context(vm().addVolumes(hostPath("/dev/app", device)).build(), noDocker)));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals("volumes[0].host_path.path", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("neither a directory nor a file"), e.getMessage());

        assertEquals(file.toString(), new LinuxFilesystemIsolator(paths).prepare(context(vm()
                .addVolumes(hostPath("/etc/app.ini", file)).build(), noDocker)).getMounts(0).getSource());
        ContainerConfig process = vm().setIsolation(Isolation.PROCESS).addVolumes(hostPath("/dev/app", device)).build();
        assertEquals(device.toString(), new LinuxFilesystemIsolator(paths).prepare(context(process, noDocker))
                .getMounts(0).getSource());
    }

    @Test
    void aGuestsIsolatorNeedsNoDockerVolumesAndRefusesThem() {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        LinuxFilesystemIsolator guest = LinuxFilesystemIsolator.withoutDockerVolumes(paths);
        assertEquals(Set.of(ContainerKeys.ROOTFS, ContainerKeys.SANDBOX), guest.requires());
        ContainerConfig docker = vm().setIsolation(Isolation.PROCESS).addVolumes(Volume.newBuilder().setTarget("/v")
                .setDocker(DockerVolume.newBuilder().setDriver("d").setName("n"))).build();
        VesselException e = assertThrows(VesselException.class, () -> guest.prepare(context(docker, Map.of())));
        assertEquals("volumes[0].docker", e.field().orElseThrow());
    }

    @Test
    void aReadOnlyRootfsGetsWritableTmpfsWhereNoVolumeIsAndAVmTasksAreLeftToItsGuest() throws Exception {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        LinuxFilesystemIsolator guest = LinuxFilesystemIsolator.withoutDockerVolumes(paths);
        ContainerConfig process = vm().setIsolation(Isolation.PROCESS).setReadOnlyRootfs(true)
                .addVolumes(hostPath("/var", Files.createDirectories(tmp.resolve("var")))).build();
        // /var/tmp is under the user's /var: the volume wins there
        assertEquals(List.of("/var", "/run", "/tmp"), guest.prepare(context(process, Map.of())).getMountsList().stream()
                .map(Mount::getTarget).toList());
        Mount run = guest.prepare(context(process.toBuilder().clearVolumes().build(), Map.of())).getMounts(0);
        assertEquals(Mount.newBuilder().setSource("tmpfs").setTarget("/run").setType("tmpfs").addOptions("nosuid")
                .addOptions("nodev").addOptions("mode=755").build(), run);

        ContainerConfig vmTask = vm().setReadOnlyRootfs(true).build();
        assertEquals(List.of(), guest.prepare(context(vmTask, Map.of())).getMountsList(),
                "the host plans nothing: the config reaches the guest, whose filesystem/linux makes them");
    }

    /** Fetched URIs reach the task: the sandbox bound read-write where the task looks, the only mount it adds. */
    @Test
    void aContainerThatFetchesGetsItsSandboxAtVesselSandbox() throws Exception {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        Path sandbox = Files.createDirectories(tmp.resolve("sandbox"));
        Map<Key<?>, Object> keys = Map.of(VolumeKeys.DOCKER_MOUNTS, new DockerVolumeMounts(Map.of()),
                ContainerKeys.SANDBOX, sandbox);
        ContainerConfig fetches = vm().setHostRootfs(tmp.resolve("rootfs").toString())
                .addUris(FetchUri.newBuilder().setUri("http://127.0.0.1/tool.tar.gz")).build();
        Mount expected = Mount.newBuilder().setSource(sandbox.toString()).setTarget("/vessel/sandbox").setType("rbind").build();
        for (Isolation isolation : new Isolation[] {Isolation.VM, Isolation.PROCESS}) {
            ContainerConfig config = fetches.toBuilder().setIsolation(isolation).build();
            assertEquals(List.of(expected), new LinuxFilesystemIsolator(paths).prepare(context(config, keys)).getMountsList());
        }
        assertEquals(List.of(), new LinuxFilesystemIsolator(paths).prepare(context(fetches.toBuilder().clearUris().build(),
                keys)).getMountsList(), "nothing fetched, no sandbox");
    }

    /** A host device: its node bound at its path (the host's by default), usable there (not nodev). */
    @Test
    void aHostDeviceIsABindOfItsNodeThatMayBeOpened() throws Exception {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        ContainerConfig config = vm().setIsolation(Isolation.PROCESS)
                .addDevices(Device.newBuilder().setHostPath("/dev/zero").setPath("/dev/myzero").setPermissions("r"))
                .addDevices(Device.newBuilder().setHostPath("/dev/full")).build();
        LaunchInfo plan = new LinuxFilesystemIsolator(paths).prepare(context(config,
                Map.of(VolumeKeys.DOCKER_MOUNTS, new DockerVolumeMounts(Map.of()))));
        assertEquals(List.of(
                Mount.newBuilder().setType("bind").setSource("/dev/zero").setTarget("/dev/myzero").addOptions("nosuid")
                        .addOptions("noexec").build(),
                Mount.newBuilder().setType("bind").setSource("/dev/full").setTarget("/dev/full").addOptions("nosuid")
                        .addOptions("noexec").build()), plan.getMountsList());
    }

    private static ContainerConfig.Builder vm() {
        return ContainerConfig.newBuilder().setId("plan").setIsolation(Isolation.VM).addCommand("/bin/true");
    }

    private static Volume.Builder hostPath(String target, Path source) {
        return Volume.newBuilder().setTarget(target).setHostPath(HostPathVolume.newBuilder().setPath(source.toString()));
    }

    /** The context the chain would give: the rootfs plus the keys given. */
    private PrepareContext context(ContainerConfig config, Map<Key<?>, Object> keys) {
        Path containerDir = tmp.resolve("run/containers").resolve(config.getId());
        DirectPrepareContext context = new DirectPrepareContext(config, containerDir, containerDir.resolve("checkpoint"));
        context.data().putAll(keys);
        return context.with(ContainerKeys.ROOTFS, tmp.resolve("rootfs"));
    }
}
