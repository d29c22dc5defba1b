package dev.vessel.isolators.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.DockerVolume;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.Volume;
import dev.vessel.isolators.filesystem.VolumeNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * volume/docker against a real plugin process ({@link TestVolumePlugin}) speaking the Docker volume
 * plugin protocol on a Unix socket, with real busybox containers.
 */
class DockerVolumeIsolatorTest {
    static final String DRIVER = "testvol";

    @TempDir
    static Path tmp;

    static VolumeNode node;
    static Path pluginVolumes;
    static Path calls;
    static Process plugin;
    List<String> hostMountsBefore;

    @BeforeAll
    static void startNodeAndPlugin() throws Exception {
        node = VolumeNode.start(tmp);
        pluginVolumes = Files.createDirectories(tmp.resolve("plugin-volumes"));
        calls = tmp.resolve("plugin-calls.log");
        Path socket = node.pluginDir.resolve(DRIVER + ".sock");
        plugin = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                TestVolumePlugin.class.getName(), socket.toString(), pluginVolumes.toString(), calls.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("plugin.out").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(socket)) {
            if (!plugin.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("the test volume plugin did not start: "
                        + Files.readString(tmp.resolve("plugin.out")));
            }
            Thread.sleep(20);
        }
    }

    @AfterAll
    static void stopNodeAndPlugin() throws Exception {
        try {
            if (node != null) {
                node.destroyAll();
            }
        } finally {
            if (plugin != null) {
                plugin.destroy();
                if (!plugin.waitFor(10, TimeUnit.SECONDS)) {
                    plugin.destroyForcibly().waitFor();
                }
            }
        }
    }

    @BeforeEach
    void recordHostMounts() throws Exception {
        hostMountsBefore = VolumeNode.hostMounts();
    }

    @AfterEach
    void hostMountsAreUnchanged() throws Exception {
        node.destroyAll();
        assertEquals(hostMountsBefore, VolumeNode.hostMounts(), "the host's /proc/self/mountinfo changed");
    }

    static Volume docker(String target, String driver, String name, Map<String, String> options) {
        return Volume.newBuilder().setTarget(target).setDocker(DockerVolume.newBuilder()
                .setDriver(driver).setName(name).putAllOptions(options)).build();
    }

    static List<String> calls() throws Exception {
        return Files.exists(calls) ? Files.readAllLines(calls) : List.of();
    }

    /** Waits for a whole line in {@code file}: the shell's redirection creates it before echo writes. */
    static void awaitLine(Path file) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(file) || !Files.readString(file).endsWith("\n")) {
            assertTrue(System.nanoTime() < deadline, "no line in " + file + " after 30 s");
            Thread.sleep(20);
        }
    }

    @Test
    void aVolumeIsCreatedAndMountedAtLaunchAndUnmountedAtDestroy() throws Exception {
        node.containerizer().launch(node.config("web", "echo from the container > /vol/file; exec sleep 1000")
                .addVolumes(docker("/vol", DRIVER, "webdata", Map.of("size", "1m"))).build());
        String id = DockerVolumeIsolator.mountId("web", 0);
        awaitLine(pluginVolumes.resolve("webdata/file"));
        assertEquals("from the container\n", Files.readString(pluginVolumes.resolve("webdata/file")));
        assertEquals("{\"size\":\"1m\"}", Files.readString(pluginVolumes.resolve("webdata.opts")));
        assertTrue(calls().contains("/VolumeDriver.Create webdata"), calls().toString());
        assertTrue(calls().contains("/VolumeDriver.Mount webdata " + id), calls().toString());
        assertFalse(calls().contains("/VolumeDriver.Unmount webdata " + id), "unmounted while running");

        assertEquals(TerminationReason.KILLED, node.containerizer().destroy("web").getReason());
        assertTrue(calls().contains("/VolumeDriver.Unmount webdata " + id), calls().toString());
        assertFalse(calls().contains("/VolumeDriver.Remove webdata"), "a volume outlives its container");
        assertTrue(Files.isDirectory(pluginVolumes.resolve("webdata")));
    }

    @Test
    void anExistingVolumeIsMountedWithoutBeingCreatedAgain() throws Exception {
        Files.createDirectories(pluginVolumes.resolve("existing"));
        Files.writeString(pluginVolumes.resolve("existing/hello"), "already here");
        Termination t = node.run(node.config("reuse", "cat /v/hello")
                .addVolumes(docker("/v", DRIVER, "existing", Map.of())).build());
        assertEquals(0, t.getExitCode(), t + node.stderr("reuse"));
        assertEquals("already here", node.stdout("reuse"));
        assertFalse(calls().contains("/VolumeDriver.Create existing"), calls().toString());
        assertTrue(calls().contains("/VolumeDriver.Unmount existing " + DockerVolumeIsolator.mountId("reuse", 0)));
    }

    @Test
    void aPluginErrSurfacesAsAClearErrorAndLeavesNothingMounted() throws Exception {
        ContainerConfig config = node.config("broken", "true")
                .addVolumes(docker("/good", DRIVER, "goodvol", Map.of()))
                .addVolumes(docker("/bad", DRIVER, "badvol", Map.of())).build();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer().launch(config));
        assertEquals("volumes[1].docker", e.field().orElseThrow(), e.getMessage());
        for (String part : List.of("'" + DRIVER + "'", "'badvol'", "VolumeDriver.Mount", "is on fire")) {
            assertTrue(e.getMessage().contains(part), part + " missing in: " + e.getMessage());
        }
        // the first volume had been mounted: cleanup gave it back, with its own mount ID
        assertTrue(calls().contains("/VolumeDriver.Unmount goodvol " + DockerVolumeIsolator.mountId("broken", 0)),
                calls().toString());
        assertFalse(calls().contains("/VolumeDriver.Unmount badvol " + DockerVolumeIsolator.mountId("broken", 1)),
                "a mount that failed is not unmounted");
        assertFalse(Files.exists(node.paths.containerDir(List.of("broken"))));
        assertTrue(node.containerizer().list().stream().noneMatch(s -> s.getId().equals("broken")));
    }

    @Test
    void aMissingPluginSocketIsAClearError() {
        ContainerConfig config = node.config("noplugin", "true")
                .addVolumes(docker("/x", "nosuchdriver", "v", Map.of())).build();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer().launch(config));
        assertEquals(ErrorCode.UNAVAILABLE, e.code(), e.getMessage());
        assertEquals("volumes[0].docker", e.field().orElseThrow(), e.getMessage());
        assertTrue(e.getMessage().contains("no Docker volume plugin 'nosuchdriver'"), e.getMessage());
        assertTrue(e.getMessage().contains(node.pluginDir.resolve("nosuchdriver.sock") + " does not exist"),
                e.getMessage());
        assertFalse(Files.exists(node.paths.containerDir(List.of("noplugin"))));
    }

    /** The mount ID is checkpointed: a restarted containerizer unmounts with the ID the mount used. */
    @Test
    void aRestartedContainerizerUnmountsWithTheCheckpointedId() throws Exception {
        node.containerizer().launch(node.config("survivor", "exec sleep 1000")
                .addVolumes(docker("/data", DRIVER, "survivordata", Map.of())).build());
        String id = DockerVolumeIsolator.mountId("survivor", 0);
        assertTrue(calls().contains("/VolumeDriver.Mount survivordata " + id), calls().toString());

        node.restart();
        assertEquals(ContainerState.RUNNING, node.containerizer().status("survivor").getState());
        node.containerizer().destroy("survivor");
        assertTrue(calls().contains("/VolumeDriver.Unmount survivordata " + id), calls().toString());
        assertFalse(Files.exists(node.paths.isolatorCheckpoint(node.paths.containerDir(List.of("survivor")),
                "volume/docker")));
    }

    /** A container that is gone but left a checkpoint of mounted volumes: recovery unmounts them. */
    @Test
    void recoveryUnmountsTheVolumesOfAContainerThatNoLongerRuns() throws Exception {
        Termination t = node.run(node.config("gone", "true").build());
        assertEquals(0, t.getExitCode(), t.toString());
        VolumeDriverClient client = VolumeDriverClient.connect(node.pluginDir, DRIVER, Duration.ofSeconds(10));
        client.create("orphanvol", Map.of());
        Path mountpoint = client.mount("orphanvol", "orphan-id");
        Path leftoverFile = node.paths.isolatorCheckpoint(node.paths.containerDir(List.of("gone")), "volume/docker");
        Checkpoint leftover = Checkpoint.at(leftoverFile);
        leftover.save(MountedVolumes.CODEC, new MountedVolumes(
                List.of(new MountedVolumes.Entry(DRIVER, "orphanvol", "orphan-id", mountpoint.toString()))));

        node.restart();
        assertTrue(calls().contains("/VolumeDriver.Unmount orphanvol orphan-id"), calls().toString());
        assertFalse(Files.exists(leftoverFile));
    }

    @Test
    void theClientSpeaksEveryVolumeDriverEndpoint() {
        VolumeDriverClient client = VolumeDriverClient.connect(node.pluginDir, DRIVER, Duration.ofSeconds(10));
        assertTrue(client.get("direct").isEmpty());
        client.create("direct", Map.of());
        String expected = pluginVolumes.resolve("direct").toString();
        assertEquals(new VolumeDriverClient.VolumeInfo("direct", expected), client.get("direct").orElseThrow());
        assertTrue(client.list().contains(new VolumeDriverClient.VolumeInfo("direct", expected)));
        assertEquals(expected, client.path("direct"));
        assertEquals("local", client.scope());
        assertEquals(Path.of(expected), client.mount("direct", "m1"));
        client.unmount("direct", "m1");
        client.remove("direct");
        assertTrue(client.get("direct").isEmpty());
        VesselException e = assertThrows(VesselException.class, () -> client.path("direct"));
        assertTrue(e.getMessage().contains("VolumeDriver.Path failed: no such volume: direct"), e.getMessage());
    }
}
