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

    /**
     * Classes a guest's first task loaded past its launch helper's spawn before training ran a task (found with
     * {@code -Xlog:class+load} in a guest, each one 5-10 ms of interpretation under TCG): training's warm-up task
     * loads them, so the AOT cache holds them.
     */
    private static final List<String> PAST_THE_SPAWN = List.of(
            "dev.vessel.launcher.process.HelperReplies",
            "dev.vessel.launcher.process.ProcessLauncher$Started",
            "dev.vessel.launcher.process.ProcessTaskCheckpoint$Builder",
            "dev.vessel.launcher.process.ExecBase",
            "dev.vessel.launcher.process.ExecBase$Builder",
            "dev.vessel.launcher.process.ExecPlans",
            "dev.vessel.linux.ProcStat",
            "dev.vessel.launcher.process.Caps",
            "dev.vessel.launcher.process.Caps$Builder",
            "dev.vessel.launcher.process.Rlimit",
            "dev.vessel.launcher.process.HelperPlan$Rlimit",
            "dev.vessel.launcher.process.ProcessTask",
            "dev.vessel.launcher.process.ExitFile",
            "dev.vessel.guest.TaskEvents$ExecEnd",
            "dev.vessel.core.model.Termination$StatusCase",
            "dev.vessel.core.containerizer.ContainerExecs$Exec",
            "dev.vessel.core.lifecycle.RestartRules",
            "java.util.OptionalLong",
            "java.util.LinkedHashMap$LinkedValueIterator",
            "java.util.concurrent.CompletableFuture$UniHandle",
            "java.util.concurrent.CompletableFuture$UniAccept",
            "java.util.concurrent.CompletableFuture$UniRelay",
            "java.util.concurrent.CompletableFuture$UniCompose",
            "java.util.concurrent.CompletableFuture$Timeout",
            "java.util.concurrent.DelayScheduler$ScheduledForkJoinTask",
            "java.util.concurrent.ForkJoinWorkerThread$InnocuousForkJoinWorkerThread");

    /**
     * What lets the AOT cache hold them: training runs a task through the launch helper, and with it loads the
     * classes of a launch past the helper's spawn and spins the lambdas of a task's exit and events; it loads
     * the few the guest's first task needs and training's paths do not reach.
     */
    @Test
    void trainingRunsATaskAndLoadsWhatALaunchNeedsPastItsHelpersSpawn() throws Exception {
        Path loaded = tmp.resolve("loaded.log");
        train(Files.createDirectories(tmp.resolve("t")), "-Xlog:class+load=info:file=" + loaded);
        String log = Files.readString(loaded);
        for (String name : Stream.concat(PAST_THE_SPAWN.stream(), Training.NOT_REACHED.stream()).toList()) {
            assertTrue(log.contains(" " + name + " "), name + " was not loaded in training");
        }
        // a lambda of a forked task's exit: spun only where a task ran
        assertTrue(log.contains(" dev.vessel.launcher.process.ProcessTask$$Lambda"), "no task's exit spun in training");
        // a cold guest's first task mounts its share through mount(8): the tool runner's lambda spun in training
        assertTrue(log.contains(" dev.vessel.linux.ExternalTool$$Lambda"), "no mount(8) run in training");
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
