package dev.vessel.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --train} and the port lookup: the parts of the agent's start that need no VM. */
class TrainingTest {
    @TempDir
    Path tmp;

    /** As the image build runs it: a JVM of its own that must exit 0 and leave no temporary files. */
    @Test
    void trainingRunsTheStartPathAndExitsZero() throws Exception {
        String output = train(tmp);
        assertEquals("", output, "training with a guest node prints nothing");
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(0, left.count(), "training left files behind");
        }
    }

    /** What lets the AOT cache hold them: training loads the classes of a launch past its helper's spawn. */
    @Test
    void trainingLoadsTheClassesALaunchNeedsPastItsHelpersSpawn() throws Exception {
        Path loaded = tmp.resolve("loaded.log");
        train(Files.createDirectories(tmp.resolve("t")), "-Xlog:class+load=info:file=" + loaded);
        String log = Files.readString(loaded);
        for (String name : Training.PAST_THE_SPAWN) {
            assertTrue(log.contains(" " + name + " "), name + " was not loaded in training");
        }
    }

    /** Runs training as the image build does, in a JVM of its own with {@code tmpdir}; must exit 0; its output. */
    private static String train(Path tmpdir, String... jvmOptions) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED"));
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of("-Djava.io.tmpdir=" + tmpdir, "-cp", System.getProperty("java.class.path"),
                GuestAgent.class.getName(), "--train"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "training did not end");
        assertEquals(0, p.exitValue(), output);
        return output;
    }

    @Test
    void theAgentPortIsFoundByItsNameInSysfs() throws Exception {
        Path sysfs = Files.createDirectories(tmp.resolve("virtio-ports"));
        Files.writeString(Files.createDirectories(sysfs.resolve("vport1p1")).resolve("name"), "org.qemu.guest_agent.0\n");
        Files.writeString(Files.createDirectories(sysfs.resolve("vport1p2")).resolve("name"), "vessel.agent\n");
        assertEquals(Optional.of(Path.of("/dev/vport1p2")), VirtioPort.lookup(sysfs, VirtioPort.PORT_NAME));
        assertEquals(Optional.empty(), VirtioPort.lookup(sysfs, "other"));
        assertEquals(Optional.empty(), VirtioPort.lookup(tmp.resolve("absent"), VirtioPort.PORT_NAME));
    }
}
