package dev.vessel.core.containerizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.checkpoint.CheckpointFile;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerRecord;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.HealthCheck;
import dev.vessel.core.model.HealthStatus;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.ImageDefaults;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.LimitationReason;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.ExecPlan;
import dev.vessel.core.testing.CallLog;
import dev.vessel.core.testing.FakeLauncher;
import dev.vessel.core.testing.FakeProcessTable;
import dev.vessel.core.testing.RecordingIsolator;
import dev.vessel.core.testing.RecordingProvisioner;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The containerizer against test doubles of its SPIs: the doubles record calls, and a fake process
 * table outlives a containerizer that is thrown away, as real tasks outlive a killed daemon.
 */
class UnifiedContainerizerTest {
    @TempDir
    Path tmp;

    RuntimePaths paths;
    Path hostRootfs;
    final CallLog log = new CallLog();
    final FakeProcessTable processes = new FakeProcessTable();
    RecordingProvisioner provisioner;

    @BeforeEach
    void setUp() throws Exception {
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        hostRootfs = Files.createDirectories(tmp.resolve("rootfs"));
        provisioner = new RecordingProvisioner(Files.createDirectories(tmp.resolve("images")), log);
    }

    /** A node as a daemon would wire it; a fresh one over the same directories is a restarted daemon. */
    final class Node {
        final RecordingIsolator network = new RecordingIsolator("network", log).provides(NETNS)
                .onPrepare(ctx -> ctx.put(NETNS, "/run/netns/" + ctx.containerId()));
        final RecordingIsolator memory = new RecordingIsolator("memory", log);
        final RecordingIsolator tap = new RecordingIsolator("tap", log).requires(NETNS, ContainerKeys.ROOTFS);
        final FakeLauncher process = new FakeLauncher("process", Isolation.PROCESS, processes, log);
        final FakeLauncher vm = new FakeLauncher("vm", Isolation.VM, processes, log);
        final UnifiedContainerizer containerizer;

        Node() {
            this(false);
        }

        /** With {@code recordsInMemory}: a guest's containerizer, which never recovers. */
        Node(boolean recordsInMemory) {
            UnifiedContainerizer.Builder b = UnifiedContainerizer.builder(paths,
                            new ConfigValidator(new NodeCapacity(4, 16L << 30)))
                    .isolator(tap).isolator(network).isolator(memory)
                    .launcher(process).launcher(vm)
                    .provisioner(provisioner);
            containerizer = (recordsInMemory ? b.recordsInMemory() : b).build();
        }

        Node recovered() {
            containerizer.recover();
            return this;
        }

        /** The daemon dies: from now on it reacts to nothing, while its tasks live on. */
        Node crash() {
            process.crash();
            vm.crash();
            return this;
        }
    }

    static final dev.vessel.core.spi.Key<String> NETNS = dev.vessel.core.spi.Key.of("netns", String.class);

    ContainerConfig.Builder config(String id) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS)
                .addCommand("/bin/true").setHostRootfs(hostRootfs.toString());
    }

    /** A pod: no root, no command; its members nest under it. */
    ContainerConfig pod(String id) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS).setPod(true).build();
    }

    ContainerRecord recordOnDisk(String id) {
        return CheckpointFile.read(paths.containerRecord(paths.containerDir(List.of(id))),
                Container.RECORD_CODEC).orElseThrow();
    }

    Path dirOf(String id) {
        return paths.containerDir(List.of(id));
    }

    static Termination await(java.util.concurrent.CompletableFuture<Termination> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void launchRunsEveryStepInOrderAndCheckpointsWhatRecoveryNeeds() throws Exception {
        Node node = new Node().recovered();
        List<ContainerState> statesSeen = new ArrayList<>();
        node.memory.onPrepare(ctx -> statesSeen.add(recordOnDisk(ctx.containerId()).getStatus().getState()));
        log.clear();

        ContainerStatus status = node.containerizer.launch(config("web").build());

        assertEquals(ContainerState.RUNNING, status.getState());
        assertEquals(List.of(ContainerState.PREPARING), statesSeen, "prepare must see PREPARING on disk");
        assertEquals(ContainerState.RUNNING, recordOnDisk("web").getStatus().getState());
        // chain order: network (provides what tap requires), then tap, then memory, as registered
        assertEquals(List.of("network:prepare:web", "tap:prepare:web", "memory:prepare:web",
                "process:fork:web", "network:isolate:web", "tap:isolate:web", "memory:isolate:web",
                "process:release:web"), preparesInChainOrder(log.calls()));
        assertTrue(processes.get(status.getPid()).released);
        assertEquals(hostRootfs.toString(), node.process.lastPlan.launchInfo().getRootfs());
        assertTrue(status.hasCreatedAt() && status.hasStartedAt());

        log.clear();
        processes.exit(status.getPid(), 3);
        Termination t = await(node.containerizer.wait("web"));
        assertEquals(TerminationReason.EXITED, t.getReason());
        assertEquals(3, t.getExitCode());
        assertEquals(List.of("memory:cleanup:web", "tap:cleanup:web", "network:cleanup:web"), log.calls());
        ContainerRecord record = recordOnDisk("web");
        assertEquals(ContainerState.TERMINATED, record.getStatus().getState());
        assertEquals(3, record.getStatus().getTermination().getExitCode());
    }

    /** A containerizer that never recovers (a guest's) writes no record, and launches, ends and removes as ever. */
    @Test
    void recordsAndCheckpointsInMemoryAreNeverWrittenYetTheLifecycleIsTheSame() throws Exception {
        Node node = new Node(true).recovered();
        Path record = paths.containerRecord(dirOf("guest"));

        ContainerStatus status = node.containerizer.launch(config("guest").build());
        assertEquals(ContainerState.RUNNING, status.getState());
        assertEquals(ContainerState.RUNNING, node.containerizer.status("guest").getState());
        assertTrue(Files.isDirectory(dirOf("guest")), "the container's directory is made as ever");
        assertFalse(Files.exists(record), "a record was written");
        // the launcher's checkpoint too: kept for its exec and attach, in the slot handed to whoever runs them
        assertFalse(Files.exists(paths.launcherCheckpoint(dirOf("guest"))), "the launcher's checkpoint was written");
        assertEquals(status.getPid(), node.containerizer.launcherContext("guest").checkpoint()
                .load(FakeLauncher.PID_CODEC).orElseThrow());
        // and an exec's, for the caller that runs the launcher's exec itself
        ExecPlan exec = node.containerizer.execPlan("guest", "e1", ExecConfig.newBuilder().addCommand("true").build());
        assertEquals(paths.execDir(dirOf("guest"), "e1"), exec.execDir());
        assertTrue(Files.isDirectory(exec.execDir()), "the exec's directory is made");
        exec.checkpoint().save(FakeLauncher.PID_CODEC, 7L);
        assertFalse(Files.exists(paths.launcherCheckpoint(exec.execDir())), "the exec's launcher checkpoint was written");
        assertEquals(7L, exec.checkpoint().load(FakeLauncher.PID_CODEC).orElseThrow());

        processes.exit(status.getPid(), 4);
        assertEquals(4, await(node.containerizer.wait("guest")).getExitCode());
        assertEquals(ContainerState.TERMINATED, node.containerizer.status("guest").getState());
        assertFalse(Files.exists(record), "a record was written");
        node.containerizer.remove("guest");
        assertFalse(Files.exists(dirOf("guest")));
    }

    @Test
    void endedTellsTheExitBeforeTheCleanupThatWaitWaitsFor() throws Exception {
        Node node = new Node().recovered();
        CountDownLatch cleanupMayEnd = new CountDownLatch(1);
        node.memory.onCleanup(ctx -> {
            try {
                cleanupMayEnd.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        ContainerStatus status = node.containerizer.launch(config("early").build());
        CompletableFuture<Termination> ended = node.containerizer.ended("early");
        CompletableFuture<Termination> waited = node.containerizer.wait("early");

        processes.exit(status.getPid(), 7);
        Termination t = await(ended);
        assertEquals(7, t.getExitCode(), t::toString);
        assertEquals(TerminationReason.EXITED, t.getReason(), t::toString);
        assertFalse(waited.isDone(), "wait ended before the cleanup");
        cleanupMayEnd.countDown();
        assertEquals(t, await(waited));
        assertEquals(t, await(node.containerizer.ended("early")), "ended, asked after the end");
    }

    @Test
    void createStopsAtCreatedWithTheTaskIsolatedAndStartReleasesIt() throws Exception {
        Node node = new Node().recovered();
        log.clear();

        ContainerStatus created = node.containerizer.create(config("oci").build());

        assertEquals(ContainerState.CREATED, created.getState());
        assertEquals(ContainerState.CREATED, recordOnDisk("oci").getStatus().getState());
        assertFalse(processes.get(created.getPid()).released);
        assertFalse(created.hasStartedAt());
        assertTrue(log.calls().contains("memory:isolate:oci"));
        assertFalse(log.calls().contains("process:release:oci"));
        // an exec runs in a created container (as an OCI startContainer hook does) and releases nothing
        var exec = node.containerizer.execStartDetached("oci", node.containerizer.execCreate("oci",
                dev.vessel.core.model.ExecConfig.newBuilder().addCommand("/bin/true").build()).getId());
        assertEquals(dev.vessel.core.model.ExecState.EXEC_RUNNING, exec.getState());
        assertFalse(processes.get(created.getPid()).released);
        processes.exit(exec.getPid(), 0);

        ContainerStatus started = node.containerizer.start("oci");

        assertEquals(ContainerState.RUNNING, started.getState());
        assertTrue(processes.get(created.getPid()).released);
        assertTrue(started.hasStartedAt());
        assertEquals(ContainerState.RUNNING, recordOnDisk("oci").getStatus().getState());
        ContainerStatus again = node.containerizer.start("oci");
        assertEquals(created.getPid(), again.getPid(), "a start of a running container leaves it as it is");
        processes.exit(created.getPid(), 0);
        assertEquals(0, await(node.containerizer.wait("oci")).getExitCode());
    }

    @Test
    void aCreatedContainerCanBeKilledWithoutEverRunning() throws Exception {
        Node node = new Node().recovered();
        ContainerStatus created = node.containerizer.create(config("oci").build());

        node.containerizer.kill("oci", 9);

        Termination t = await(node.containerizer.wait("oci"));
        assertEquals(TerminationReason.KILLED, t.getReason());
        assertFalse(processes.get(created.getPid()).released);
        assertEquals(ContainerState.TERMINATED, node.containerizer.status("oci").getState());
    }

    /** The helper of a created task kills it when the daemon's pipe closes: a restart finds it ended. */
    @Test
    void aCreatedContainerWhoseDaemonDiedIsRecoveredAsEnded() throws Exception {
        Node first = new Node().recovered();
        ContainerStatus created = first.containerizer.create(config("oci").build());
        first.crash();
        processes.exit(created.getPid(), 1);

        Node second = new Node().recovered();

        assertEquals(1, await(second.containerizer.wait("oci")).getExitCode());
        assertEquals(ContainerState.TERMINATED, second.containerizer.status("oci").getState());
    }

    /** A node whose memory isolator is also its freezer (as the cgroups isolator is). */
    Node freezingNode() {
        Node node = new Node();
        node.memory.freezing();
        return node.recovered();
    }

    @Test
    void pauseCheckpointsPausedThenFreezesAndARestartFreezesItAgainUntilResumed() throws Exception {
        Node first = freezingNode();
        first.containerizer.launch(config("web").build());
        log.clear();

        assertEquals(ContainerState.PAUSED, first.containerizer.pause("web").getState());
        assertEquals(List.of("memory:freeze:web"), log.calls());
        assertEquals(ContainerState.PAUSED, recordOnDisk("web").getStatus().getState());
        VesselException again = assertThrows(VesselException.class, () -> first.containerizer.pause("web"));
        assertTrue(again.getMessage().contains("PAUSED, not RUNNING"), again.getMessage());
        VesselException exec = assertThrows(VesselException.class, () -> first.containerizer.execCreate("web",
                dev.vessel.core.model.ExecConfig.newBuilder().addCommand("/bin/true").build()));
        assertTrue(exec.getMessage().contains("PAUSED"), exec.getMessage());

        first.crash();
        log.clear();
        Node second = freezingNode();
        assertEquals(ContainerState.PAUSED, second.containerizer.status("web").getState());
        assertTrue(log.calls().contains("memory:freeze:web"), "recovery freezes a PAUSED container again: "
                + log.calls());

        log.clear();
        assertEquals(ContainerState.RUNNING, second.containerizer.resume("web").getState());
        assertEquals(List.of("memory:thaw:web"), log.calls());
        assertEquals(ContainerState.RUNNING, recordOnDisk("web").getStatus().getState());
        VesselException notPaused = assertThrows(VesselException.class, () -> second.containerizer.resume("web"));
        assertTrue(notPaused.getMessage().contains("RUNNING, not PAUSED"), notPaused.getMessage());
    }

    @Test
    void aPausedContainerThatCannotBeFrozenAgainAfterARestartRunsOn() throws Exception {
        Node first = freezingNode();
        first.containerizer.launch(config("web").build());
        first.containerizer.pause("web");
        first.crash();

        Node second = new Node();
        second.memory.freezing().failOn("freeze");
        second.recovered();
        assertEquals(ContainerState.RUNNING, second.containerizer.status("web").getState());
        assertEquals(ContainerState.RUNNING, recordOnDisk("web").getStatus().getState());
        assertFalse(second.containerizer.wait("web").isDone(), "its task is fine: it is not ended");
    }

    @Test
    void aPausedContainerIsKilledThenThawedAndDestroyedThenThawed() throws Exception {
        Node node = freezingNode();
        node.containerizer.launch(config("killed").build());
        node.containerizer.pause("killed");
        log.clear();
        node.containerizer.kill("killed", 9);
        assertEquals(List.of("process:signal9:killed", "memory:thaw:killed"), log.calls().subList(0, 2));
        assertEquals(TerminationReason.KILLED, await(node.containerizer.wait("killed")).getReason());

        node.containerizer.launch(config("destroyed").build());
        node.containerizer.pause("destroyed");
        log.clear();
        node.containerizer.destroy("destroyed");
        List<String> calls = log.calls();
        assertEquals(List.of("process:signal9:destroyed", "memory:thaw:destroyed", "process:destroy:destroyed"),
                calls.subList(0, 3));
        assertEquals(ContainerState.TERMINATED, node.containerizer.status("destroyed").getState());
    }

    @Test
    void withoutAFreezerOrForAVmTaskAPauseIsRefusedAndTheContainerRuns() throws Exception {
        Node node = new Node().recovered();
        node.containerizer.launch(config("plain").build());
        VesselException none = assertThrows(VesselException.class, () -> node.containerizer.pause("plain"));
        assertTrue(none.getMessage().contains("no cgroup freezer"), none.getMessage());
        assertEquals(ContainerState.RUNNING, node.containerizer.status("plain").getState());
        assertEquals(ContainerState.RUNNING, recordOnDisk("plain").getStatus().getState());

        Node freezer = freezingNode();
        freezer.containerizer.launch(config("guest").setIsolation(Isolation.VM).build());
        log.clear();
        VesselException vm = assertThrows(VesselException.class, () -> freezer.containerizer.pause("guest"));
        assertEquals(java.util.Optional.of("isolation"), vm.field());
        assertEquals(List.of(), log.calls(), "nothing frozen");
        assertEquals(ContainerState.RUNNING, freezer.containerizer.status("guest").getState());
    }

    @Test
    void aContainerizerThatLostItsDirectoriesToANewerOneDoesNotMakeARemovedContainersDirectoryAgain()
            throws Exception {
        Node old = new Node().recovered();
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        old.memory.onCleanup(ctx -> {
            try {
                held.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        old.containerizer.launch(config("a").build());

        // a newer containerizer on the same directories ends and removes the task while the old one still reacts
        Node restarted = new Node().recovered();
        restarted.containerizer.destroy("a");
        restarted.containerizer.remove("a");
        assertFalse(Files.exists(dirOf("a")));

        held.countDown();
        await(old.containerizer.wait("a"));
        assertEquals(ContainerState.TERMINATED, old.containerizer.status("a").getState());
        assertFalse(Files.exists(dirOf("a")), "the old containerizer's record of the end made the directory again");
    }

    /** memory depends on nothing, so its prepare may run before or between the others. */
    static List<String> preparesInChainOrder(List<String> calls) {
        List<String> out = new ArrayList<>(calls);
        out.remove("memory:prepare:web");
        out.add(out.indexOf("tap:prepare:web") + 1, "memory:prepare:web");
        return out;
    }

    @Test
    void theLauncherIsChosenByIsolationClass() throws Exception {
        Node node = new Node().recovered();
        node.containerizer.launch(config("p").build());
        node.containerizer.launch(config("v").setIsolation(Isolation.VM).build());
        assertEquals(List.of("process:fork:p"), log.matching("process:fork"));
        assertEquals(List.of("vm:fork:v"), log.matching("vm:fork"));
    }

    @Test
    void eachIsolationClassRunsOnlyTheIsolatorsThatApplyToIt() throws Exception {
        RecordingIsolator vmSize = new RecordingIsolator("vmsize", log).applyingTo(Isolation.VM);
        RecordingIsolator both = new RecordingIsolator("both", log).applyingTo(Isolation.PROCESS, Isolation.VM);
        UnifiedContainerizer containerizer = UnifiedContainerizer.builder(paths, new ConfigValidator(new NodeCapacity(4, 16L << 30)))
                .isolator(new RecordingIsolator("memory", log)).isolator(vmSize).isolator(both)
                .launcher(new FakeLauncher("process", Isolation.PROCESS, processes, log))
                .launcher(new FakeLauncher("vm", Isolation.VM, processes, log))
                .build();
        containerizer.recover();
        containerizer.launch(config("p").build());
        containerizer.launch(config("v").setIsolation(Isolation.VM).build());

        // independent isolators prepare concurrently: compare without order
        assertEquals(List.of("both:prepare:p", "memory:prepare:p"), log.matching(":prepare:p").stream().sorted().toList());
        assertEquals(List.of("both:prepare:v", "vmsize:prepare:v"), log.matching(":prepare:v").stream().sorted().toList());
        containerizer.destroy("v");
        assertEquals(List.of("both:cleanup:v", "vmsize:cleanup:v"), log.matching(":cleanup:v"));

        // after a restart each isolator recovers only the containers of its isolation classes
        RecordingIsolator memoryAgain = new RecordingIsolator("memory", log);
        RecordingIsolator vmSizeAgain = new RecordingIsolator("vmsize", log).applyingTo(Isolation.VM);
        containerizer.launch(config("v2").setIsolation(Isolation.VM).build());
        log.clear();
        UnifiedContainerizer restarted = UnifiedContainerizer.builder(paths, new ConfigValidator(new NodeCapacity(4, 16L << 30)))
                .isolator(memoryAgain).isolator(vmSizeAgain)
                .launcher(new FakeLauncher("process", Isolation.PROCESS, processes, log))
                .launcher(new FakeLauncher("vm", Isolation.VM, processes, log))
                .build();
        restarted.recover();
        assertEquals(List.of("p"), memoryAgain.recovered.stream().map(c -> c.containerId()).toList());
        assertEquals(List.of("v2"), vmSizeAgain.recovered.stream().map(c -> c.containerId()).toList());
        assertEquals(List.of("process:removeOrphans:p,v2", "vm:removeOrphans:p,v2"),
                log.matching(":removeOrphans:").stream().sorted().toList());
    }

    @Test
    void aHealthCheckPastItsTimeoutIsKilledThroughItsLauncherForAVmTaskToo() throws Exception {
        Node node = new Node().recovered();
        // the fake's execs print nothing and never end by themselves: each run hangs until it is killed
        ContainerStatus launched = node.containerizer.launch(config("hangs").setIsolation(Isolation.VM)
                .setHealthCheck(HealthCheck.newBuilder().addTest("CMD").addTest("/bin/hang").setIntervalMs(3_600_000)
                        .setTimeoutMs(1000)).build());

        HealthStatus found = node.containerizer.checkHealth("hangs");

        assertEquals(-1, found.getLog(0).getExitCode(), found::toString);
        assertEquals(List.of("vm:exec:hangs//bin/hang"), log.matching("vm:exec:"));
        // the hung run got SIGKILL from its launcher (a guest has no host pid for the containerizer to kill)
        long execPid = launched.getPid() + 1; // the fake's pids count up: the task's, then its check's
        assertFalse(processes.alive(execPid));
        assertEquals(9, processes.get(execPid).exit.get(1, TimeUnit.SECONDS).getSignal());
    }

    @Test
    void anImageIsProvisionedAndItsDefaultsApplied() throws Exception {
        provisioner.withDefaults(ImageDefaults.newBuilder().addEntrypoint("/bin/sh").addCmd("-c").addCmd("echo hi")
                .addEnv(EnvVar.newBuilder().setName("PATH").setValue("/bin"))
                .addEnv(EnvVar.newBuilder().setName("MODE").setValue("image")).setWorkingDir("/srv")
                .setHealthCheck(HealthCheck.newBuilder().addTest("CMD").addTest("/bin/probe")).build());
        Node node = new Node().recovered();
        ContainerConfig config = config("img").clearCommand().clearRoot()
                .setImage(ImageReference.newBuilder().setRepository("library/busybox").setTag("1.36"))
                .addEnv(EnvVar.newBuilder().setName("MODE").setValue("config")).build();
        ContainerStatus status = node.containerizer.launch(config);

        ContainerConfig effective = node.process.lastPlan.container().config();
        assertEquals(List.of("/bin/sh"), effective.getCommandList());
        assertEquals(List.of("-c", "echo hi"), effective.getArgsList());
        assertEquals("/srv", effective.getWorkingDir());
        assertEquals(List.of("PATH=/bin", "MODE=config"),
                effective.getEnvList().stream().map(e -> e.getName() + "=" + e.getValue()).toList());
        assertEquals(provisioner.rootfsOf("img").toString(), node.process.lastPlan.launchInfo().getRootfs());
        assertEquals(List.of("CMD", "/bin/probe"), effective.getHealthCheck().getTestList(), "the image's check");
        assertEquals("starting", node.containerizer.status("img").getHealth().getStatus());

        processes.exit(status.getPid(), 0);
        await(node.containerizer.wait("img"));
        assertEquals(List.of("provisioner:provision:img", "provisioner:destroy:img"),
                log.matching("provisioner:").stream().filter(c -> !c.contains(":recover:")).toList());
    }

    // ---------------------------------------------------------------------------------------------
    // a failure at any step undoes the steps before it

    void assertNothingLeft(Node node, String id) {
        assertFalse(Files.exists(dirOf(id)), "the container directory must be removed");
        assertThrows(VesselException.class, () -> node.containerizer.status(id));
        assertEquals(List.of("memory:cleanup:" + id, "tap:cleanup:" + id, "network:cleanup:" + id),
                log.matching(":cleanup:"), "every isolator is cleaned up, in reverse order");
    }

    @Test
    void aFailedProvisionCleansUp() {
        provisioner.failing();
        Node node = new Node().recovered();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(config("f").clearRoot()
                .setImage(ImageReference.newBuilder().setRepository("busybox")).build()));
        assertTrue(e.getMessage().contains("provisioner failed to provision image busybox: registry unreachable"),
                e.getMessage());
        assertTrue(log.matching(":prepare:").isEmpty());
        assertNothingLeft(node, "f");
    }

    @Test
    void aFailedPrepareCleansUpEveryIsolatorAndTheRootfs() {
        Node node = new Node().recovered();
        node.tap.failOn("prepare");
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(config("f").clearRoot()
                .setImage(ImageReference.newBuilder().setRepository("busybox")).build()));
        assertTrue(e.getMessage().startsWith("isolator 'tap' failed to prepare"), e.getMessage());
        assertTrue(log.matching(":fork:").isEmpty());
        assertNothingLeft(node, "f");
        assertEquals(List.of("provisioner:provision:f", "provisioner:destroy:f"),
                log.matching("provisioner:").stream().filter(c -> !c.contains(":recover:")).toList());
    }

    @Test
    void aFailedForkCleansUp() {
        Node node = new Node().recovered();
        node.process.failOn("fork");
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(config("f").build()));
        assertTrue(e.getMessage().startsWith("launcher 'process' failed to start the task"), e.getMessage());
        assertNothingLeft(node, "f");
    }

    @Test
    void aFailedIsolateKillsTheTaskAndCleansUp() {
        Node node = new Node().recovered();
        node.memory.failOn("isolate");
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(config("f").build()));
        assertTrue(e.getMessage().startsWith("isolator 'memory' failed to isolate pid"), e.getMessage());
        assertEquals(List.of("process:destroy:f"), log.matching(":destroy:"));
        assertTrue(log.matching(":release:").isEmpty(), "a task that failed isolation must never run");
        assertNothingLeft(node, "f");
    }

    @Test
    void aFailedReleaseKillsTheTaskAndCleansUp() {
        Node node = new Node().recovered();
        node.process.failOn("release");
        assertThrows(VesselException.class, () -> node.containerizer.launch(config("f").build()));
        assertEquals(List.of("process:destroy:f"), log.matching(":destroy:"));
        assertNothingLeft(node, "f");
    }

    @Test
    void theIdOfAFailedLaunchCanBeUsedAgain() throws Exception {
        Node node = new Node().recovered();
        node.process.failOn("fork");
        assertThrows(VesselException.class, () -> node.containerizer.launch(config("again").build()));
        Node healthy = new Node().recovered();
        assertEquals(ContainerState.RUNNING, healthy.containerizer.launch(config("again").build()).getState());
    }

    // ---------------------------------------------------------------------------------------------
    // validation and node checks: refused before anything is created

    @Test
    void anInvalidConfigCreatesNothing() {
        Node node = new Node().recovered();
        log.clear();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(config("bad")
                .setResources(Resources.newBuilder().setMemoryBytes(-1)).build()));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals("resources.memory_bytes", e.field().orElseThrow());
        assertEquals(List.of(), log.calls());
        assertFalse(Files.exists(dirOf("bad")));
    }

    @Test
    void aDuplicateIdIsRefusedAndTheFirstContainerIsUntouched() throws Exception {
        Node node = new Node().recovered();
        ContainerStatus first = node.containerizer.launch(config("dup").build());
        log.clear();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(config("dup").build()));
        assertEquals(ErrorCode.ALREADY_EXISTS, e.code());
        assertEquals("id", e.field().orElseThrow());
        assertEquals(List.of(), log.calls());
        assertEquals(ContainerState.RUNNING, node.containerizer.status("dup").getState());
        assertEquals(first.getPid(), recordOnDisk("dup").getStatus().getPid());
    }

    @Test
    void aMissingHostRootfsIsRefusedBeforeAnythingIsCreated() {
        Node node = new Node().recovered();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(config("x")
                .setHostRootfs(tmp.resolve("nope").toString()).build()));
        assertEquals("host_rootfs", e.field().orElseThrow());
        assertFalse(Files.exists(dirOf("x")));
    }

    @Test
    void anUnknownParentIsRefused() {
        Node node = new Node().recovered();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(config("child")
                .setParentId("ghost").build()));
        assertEquals(ErrorCode.NOT_FOUND, e.code());
        assertEquals("parent_id", e.field().orElseThrow());
    }

    @Test
    void aUriWithoutFetcherIsRefused() {
        Node node = new Node().recovered();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(config("u")
                .addUris(dev.vessel.core.model.FetchUri.newBuilder().setUri("ftp://host/file")).build()));
        assertEquals(ErrorCode.UNAVAILABLE, e.code());
        assertEquals("uris[0].uri", e.field().orElseThrow());
        assertFalse(Files.exists(dirOf("u")));
    }

    @Test
    void launchingBeforeRecoveryIsRefused() {
        Node node = new Node();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(config("early").build()));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
    }

    // ---------------------------------------------------------------------------------------------
    // operations on running containers

    @Test
    void killEndsTheTaskWithReasonKilled() throws Exception {
        Node node = new Node().recovered();
        node.containerizer.launch(config("k").build());
        node.containerizer.kill("k", 15);
        Termination t = await(node.containerizer.wait("k"));
        assertEquals(TerminationReason.KILLED, t.getReason());
        assertEquals(15, t.getSignal());
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.kill("k", 0));
        assertEquals("signal", e.field().orElseThrow());
    }

    @Test
    void aLimitationDestroysTheContainerWithItsReason() throws Exception {
        Node node = new Node().recovered();
        node.containerizer.launch(config("oom").build());
        node.memory.limit("oom", Limitation.newBuilder().setReason(LimitationReason.OOM)
                .setMessage("memory limit of 32 MiB reached").build());
        Termination t = await(node.containerizer.wait("oom"));
        assertEquals(TerminationReason.LIMITATION, t.getReason());
        assertEquals(LimitationReason.OOM, t.getLimitation().getReason());
        assertEquals("memory limit of 32 MiB reached", t.getMessage());
        assertEquals(List.of("process:destroy:oom"), log.matching(":destroy:"));
        assertEquals(LimitationReason.OOM,
                recordOnDisk("oom").getStatus().getTermination().getLimitation().getReason());
    }

    @Test
    void aKernelKillThatOvertakesTheLimitationNoticeStillEndsWithTheLimitation() throws Exception {
        Node node = new Node().recovered();
        ContainerStatus s = node.containerizer.launch(config("oom-race").build());
        processes.signal(s.getPid(), 9); // the OOM killer struck; the isolator's notice comes a moment later
        Thread.sleep(100);
        node.memory.limit("oom-race", Limitation.newBuilder().setReason(LimitationReason.OOM).setMessage("oom").build());
        Termination t = await(node.containerizer.wait("oom-race"));
        assertEquals(TerminationReason.LIMITATION, t.getReason());
        assertEquals(9, t.getSignal());
    }

    @Test
    void aForeignSigkillWithoutLimitationIsAnOrdinaryExit() throws Exception {
        Node node = new Node().recovered();
        ContainerStatus s = node.containerizer.launch(config("shot").build());
        processes.signal(s.getPid(), 9);
        Termination t = await(node.containerizer.wait("shot"));
        assertEquals(TerminationReason.EXITED, t.getReason());
        assertEquals(9, t.getSignal());
    }

    @Test
    void destroyKillsCleansUpAndReturnsTheTermination() {
        Node node = new Node().recovered();
        node.containerizer.launch(config("d").build());
        Termination t = node.containerizer.destroy("d");
        assertEquals(TerminationReason.KILLED, t.getReason());
        assertEquals(9, t.getSignal());
        assertEquals(ContainerState.TERMINATED, node.containerizer.status("d").getState());
        assertEquals(3, log.matching(":cleanup:d").size());
        assertEquals(t, node.containerizer.destroy("d"), "destroying twice returns the same termination");
    }

    @Test
    void destroyingAParentDestroysItsNestedContainersFirst() {
        Node node = new Node().recovered();
        node.containerizer.launch(pod("parent"));
        node.containerizer.launch(config("child").setParentId("parent").build());
        assertTrue(Files.exists(paths.containerRecord(paths.containerDir(List.of("parent", "child")))));
        node.containerizer.destroy("parent");
        List<String> destroys = log.matching(":destroy:");
        assertEquals(List.of("process:destroy:child", "process:destroy:parent"), destroys);
        assertEquals(ContainerState.TERMINATED, node.containerizer.status("child").getState());
    }

    @Test
    void onlyAPodTakesMembersAndAPodsEndEndsThem() throws Exception {
        Node node = new Node().recovered();
        node.containerizer.launch(config("plain").build());
        VesselException refused = assertThrows(VesselException.class,
                () -> node.containerizer.launch(config("m").setParentId("plain").build()));
        assertEquals("parent_id", refused.field().orElseThrow());
        ContainerStatus pod = node.containerizer.launch(pod("p"));
        assertTrue(pod.getPod());
        node.containerizer.launch(config("m").setParentId("p").build());
        processes.exit(pod.getPid(), 0);
        assertEquals(TerminationReason.KILLED, await(node.containerizer.wait("m")).getReason(),
                "a member ends with its pod");
    }

    @Test
    void aFailedCleanupLeavesTheContainerDestroyingUntilDestroySucceeds() throws Exception {
        Node node = new Node().recovered();
        ContainerStatus s = node.containerizer.launch(config("c").build());
        node.memory.failOn("cleanup");
        processes.exit(s.getPid(), 0);
        Termination t = await(node.containerizer.wait("c"));
        assertEquals(0, t.getExitCode(), "the exit status is known even though cleanup failed");
        assertEquals(ContainerState.DESTROYING, node.containerizer.status("c").getState());
        node.memory.healed();
        assertEquals(t, node.containerizer.destroy("c"));
        assertEquals(ContainerState.TERMINATED, node.containerizer.status("c").getState());
    }

    @Test
    void updateReachesEveryIsolatorAndIsCheckpointed() {
        Node node = new Node().recovered();
        node.containerizer.launch(config("u").build());
        node.containerizer.update("u", Resources.newBuilder().setMemoryBytes(128L << 20).build());
        assertEquals(3, log.matching(":update:u").size());
        assertEquals(128L << 20, recordOnDisk("u").getConfig().getResources().getMemoryBytes());
        VesselException e = assertThrows(VesselException.class,
                () -> node.containerizer.update("u", Resources.newBuilder().setCpus(-1).build()));
        assertEquals("resources.cpus", e.field().orElseThrow());
    }

    @Test
    void usageMergesIsolatorStatistics() {
        Node node = new Node().recovered();
        node.memory.reporting(ResourceStatistics.newBuilder().setMemoryUsageBytes(4096).build());
        node.network.reporting(ResourceStatistics.newBuilder().setPidsCurrent(3).build());
        node.containerizer.launch(config("s").build());
        ResourceStatistics stats = node.containerizer.usage("s");
        assertEquals(4096, stats.getMemoryUsageBytes());
        assertEquals(3, stats.getPidsCurrent());
        assertTrue(stats.hasTimestamp());
    }

    @Test
    void statusOfARunningContainerCarriesTheAddressesIsolatorsReport() {
        Node node = new Node().recovered();
        node.network.reporting(ContainerStatus.newBuilder().addIpAddresses("10.0.0.2")
                .setState(ContainerState.TERMINATED).build());
        node.memory.reporting(ContainerStatus.newBuilder().addIpAddresses("fd00::2").build());
        node.containerizer.launch(config("ip").build());
        ContainerStatus status = node.containerizer.status("ip");
        assertEquals(List.of("10.0.0.2", "fd00::2"), status.getIpAddressesList().stream().sorted().toList());
        assertEquals(ContainerState.RUNNING, status.getState(), "isolators report addresses, nothing else");
        assertEquals(List.of(), recordOnDisk("ip").getStatus().getIpAddressesList(), "computed, never checkpointed");
        node.containerizer.destroy("ip");
        assertEquals(List.of(), node.containerizer.status("ip").getIpAddressesList());
    }

    @Test
    void removeForgetsOnlyTerminatedContainers() {
        Node node = new Node().recovered();
        node.containerizer.launch(config("r").build());
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.remove("r"));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
        node.containerizer.destroy("r");
        node.containerizer.remove("r");
        assertFalse(Files.exists(dirOf("r")));
        assertEquals(ErrorCode.NOT_FOUND,
                assertThrows(VesselException.class, () -> node.containerizer.status("r")).code());
    }

    // ---------------------------------------------------------------------------------------------
    // recovery after a crash: the first containerizer is dropped without any cleanup

    @Test
    void aRunningContainerIsFoundAgainAfterARestart() throws Exception {
        Node before = new Node().recovered();
        ContainerStatus launched = before.containerizer.launch(config("live").build());
        before.crash();

        Node after = new Node().recovered();
        ContainerStatus status = after.containerizer.status("live");
        assertEquals(ContainerState.RUNNING, status.getState());
        assertEquals(launched.getPid(), status.getPid());
        assertEquals(List.of("live"), after.memory.recovered.stream().map(c -> c.containerId()).toList());

        processes.exit(launched.getPid(), 7);
        assertEquals(7, await(after.containerizer.wait("live")).getExitCode());
    }

    @Test
    void anExitWhileTheDaemonWasDownIsNotLost() throws Exception {
        Node before = new Node().recovered();
        ContainerStatus launched = before.containerizer.launch(config("gone").build());
        before.crash();
        processes.exit(launched.getPid(), 42);

        Node after = new Node().recovered();
        Termination t = await(after.containerizer.wait("gone"));
        assertEquals(42, t.getExitCode());
        assertEquals(ContainerState.TERMINATED, after.containerizer.status("gone").getState());
    }

    @Test
    void aTaskThatVanishedIsReportedLost() throws Exception {
        Node before = new Node().recovered();
        ContainerStatus launched = before.containerizer.launch(config("lost").build());
        before.crash();
        processes.forget(launched.getPid());
        Node after = new Node().recovered();
        Termination t = await(after.containerizer.wait("lost"));
        assertEquals(TerminationReason.LOST, t.getReason());
        assertEquals(3, log.matching(":cleanup:lost").size(), "a lost container is still cleaned up");
    }

    @Test
    void terminatedContainersKeepTheirStatusAcrossRestarts() throws Exception {
        Node before = new Node().recovered();
        ContainerStatus launched = before.containerizer.launch(config("done").build());
        processes.exit(launched.getPid(), 5);
        await(before.containerizer.wait("done"));
        log.clear();

        Node after = new Node().recovered();
        assertEquals(5, await(after.containerizer.wait("done")).getExitCode());
        assertTrue(log.matching(":cleanup:").isEmpty(), "a terminated container is not cleaned up twice");
    }

    @Test
    void aLaunchInterruptedByACrashIsUndone() throws Exception {
        // What a daemon killed during prepare leaves behind: a record in PREPARING and isolator state.
        Path dir = dirOf("half");
        Files.createDirectories(dir);
        CheckpointFile.write(paths.containerRecord(dir), Container.RECORD_CODEC, ContainerRecord.newBuilder()
                .setConfig(config("half").build()).setLauncher("process")
                .setStatus(ContainerStatus.newBuilder().setId("half").setState(ContainerState.PREPARING)).build());

        Node after = new Node().recovered();
        assertEquals(List.of("memory:cleanup:half", "tap:cleanup:half", "network:cleanup:half"),
                log.matching(":cleanup:"));
        assertFalse(Files.exists(dir));
        assertThrows(VesselException.class, () -> after.containerizer.status("half"));
    }

    @Test
    void anInterruptedLaunchWhoseCleanupFailsAtRecoveryIsKeptMarkedAndRetriedInTheBackground() throws Exception {
        Path dir = dirOf("half");
        Files.createDirectories(dir);
        CheckpointFile.write(paths.containerRecord(dir), Container.RECORD_CODEC, ContainerRecord.newBuilder()
                .setConfig(config("half").build()).setLauncher("process")
                .setStatus(ContainerStatus.newBuilder().setId("half").setState(ContainerState.PREPARING)).build());
        Node node = new Node();
        node.memory.failOn("cleanup");

        node.recovered(); // does not throw: the node serves the rest
        ContainerStatus kept = node.containerizer.status("half");
        assertEquals(ContainerState.DESTROYING, kept.getState());
        assertEquals(TerminationReason.LAUNCH_FAILED, kept.getTermination().getReason());
        assertTrue(kept.getCleanupError().contains("memory was told to fail in cleanup"), kept::toString);
        assertEquals(1, kept.getCleanupAttempts());
        assertTrue(kept.hasNextCleanupAt());
        assertEquals(kept.getCleanupError(), recordOnDisk("half").getStatus().getCleanupError(), "checkpointed");
        VesselException refused = assertThrows(VesselException.class, () -> node.containerizer.remove("half"));
        assertTrue(refused.getMessage().contains("its cleanup failed"), refused.getMessage());
        node.containerizer.launch(config("other").build()); // the node launches meanwhile

        node.memory.healed();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (node.containerizer.status("half").getState() != ContainerState.TERMINATED) {
            assertTrue(System.nanoTime() < deadline, "the background retry never succeeded");
            Thread.sleep(50);
        }
        ContainerStatus cleaned = node.containerizer.status("half");
        assertEquals("", cleaned.getCleanupError());
        assertEquals(0, cleaned.getCleanupAttempts());
        node.containerizer.remove("half");
        assertFalse(Files.exists(dir));
    }

    @Test
    void aForkedButUnreleasedTaskIsKilledAtRecovery() throws Exception {
        Node before = new Node().recovered();
        // Simulate a crash right after fork: launch normally, then rewrite the record to ISOLATING.
        ContainerStatus launched = before.containerizer.launch(config("iso").build());
        before.crash();
        ContainerRecord running = recordOnDisk("iso");
        CheckpointFile.write(paths.containerRecord(dirOf("iso")), Container.RECORD_CODEC,
                running.toBuilder().setStatus(running.getStatus().toBuilder().setState(ContainerState.ISOLATING)).build());

        new Node().recovered();
        assertFalse(processes.alive(launched.getPid()), "the half-launched task must be killed");
        assertFalse(Files.exists(dirOf("iso")));
    }

    @Test
    void aDestroyInterruptedByACrashIsFinished() throws Exception {
        Node before = new Node().recovered();
        ContainerStatus launched = before.containerizer.launch(config("dying").build());
        before.crash();
        ContainerRecord running = recordOnDisk("dying");
        CheckpointFile.write(paths.containerRecord(dirOf("dying")), Container.RECORD_CODEC,
                running.toBuilder().setKilled(true)
                        .setStatus(running.getStatus().toBuilder().setState(ContainerState.DESTROYING)).build());

        Node after = new Node().recovered();
        Termination t = await(after.containerizer.wait("dying"));
        assertEquals(TerminationReason.KILLED, t.getReason());
        assertFalse(processes.alive(launched.getPid()));
        assertEquals(ContainerState.TERMINATED, after.containerizer.status("dying").getState());
    }

    @Test
    void nestedContainersAreRecoveredUnderTheirParent() {
        Node before = new Node().recovered();
        before.containerizer.launch(pod("outer"));
        before.containerizer.launch(config("inner").setParentId("outer").build());
        before.crash();
        Node after = new Node().recovered();
        assertEquals("outer", after.containerizer.status("inner").getParentId());
        assertEquals(ContainerState.RUNNING, after.containerizer.status("inner").getState());
    }

    @Test
    void aDirectoryWithoutARecordIsRemovedAtRecovery() throws Exception {
        Path stray = Files.createDirectories(dirOf("stray").resolve("sandbox"));
        new Node().recovered();
        assertFalse(Files.exists(stray.getParent()));
    }

    @Test
    void theProvisionerIsToldWhichRootfsAreStillInUse() {
        Node before = new Node().recovered();
        before.containerizer.launch(config("img").clearRoot()
                .setImage(ImageReference.newBuilder().setRepository("busybox")).build());
        before.containerizer.launch(config("plain").build());
        before.crash();
        new Node().recovered();
        assertEquals(java.util.Set.of("img", "plain"), provisioner.recoveredWith);
    }

    @Test
    void aRecordFromANewerVessel() throws Exception {
        Path dir = dirOf("future");
        Files.createDirectories(dir);
        CheckpointFile.write(paths.containerRecord(dir), ProtoCodec.of(9, ContainerRecord.parser()),
                ContainerRecord.newBuilder().setConfig(config("future").build()).build());
        VesselException e = assertThrows(VesselException.class, () -> new Node().recovered());
        assertEquals(ErrorCode.DATA_LOSS, e.code());
        assertTrue(e.getMessage().contains("schema version 9, newer than version 1"), e.getMessage());
        assertTrue(Files.exists(dir), "nothing is deleted when a record cannot be read");
    }

    @Test
    void aRunDirFromAnEarlierBootHasItsTornRecordsRemovedAndItsTasksLost() throws Exception {
        Node before = new Node().recovered();
        long pid = before.containerizer.launch(config("survivor").build()).getPid();
        before.containerizer.launch(config("torn").build());
        before.crash();
        // the machine crashed: records were never fsync'd, so some may be torn; the boot id changed
        Files.write(paths.containerRecord(dirOf("torn")), new byte[0]);
        Path isolatorCheckpoint = paths.isolatorCheckpoint(dirOf("survivor"), "memory");
        Files.createDirectories(isolatorCheckpoint.getParent());
        Files.write(isolatorCheckpoint, new byte[] {'V', 'C'});
        Files.writeString(paths.bootStamp(), "00000000-0000-0000-0000-000000000000\n");

        Node after = new Node().recovered();
        assertFalse(Files.exists(dirOf("torn")), "a container whose record was torn is removed");
        assertFalse(Files.exists(isolatorCheckpoint), "a torn isolator checkpoint is removed");
        Termination t = await(after.containerizer.wait("survivor"));
        assertEquals(TerminationReason.LOST, t.getReason());
        assertEquals("the machine restarted while the task ran", t.getMessage());
        assertTrue(processes.alive(pid), "the launcher was not asked: no task of an earlier boot can still run");
        assertEquals(Files.readString(Path.of("/proc/sys/kernel/random/boot_id")), Files.readString(paths.bootStamp()));
    }

    @Test
    void aTornRecordOfThisBootStopsRecoveryAndIsKept() throws Exception {
        new Node().recovered().containerizer.launch(config("torn").build());
        Files.write(paths.containerRecord(dirOf("torn")), new byte[0]);
        VesselException e = assertThrows(VesselException.class, () -> new Node().recovered());
        assertEquals(ErrorCode.DATA_LOSS, e.code());
        assertTrue(e.getMessage().contains("checkpoint is damaged"), e.getMessage());
        assertTrue(Files.exists(paths.containerRecord(dirOf("torn"))));
    }

    @Test
    void statesOnlyMoveForwardButForAPause() {
        assertTrue(StateMachine.allowed(ContainerState.PROVISIONING, ContainerState.PREPARING));
        assertTrue(StateMachine.allowed(ContainerState.PREPARING, ContainerState.DESTROYING));
        assertFalse(StateMachine.allowed(ContainerState.RUNNING, ContainerState.PREPARING));
        assertFalse(StateMachine.allowed(ContainerState.TERMINATED, ContainerState.DESTROYING));
        assertFalse(StateMachine.allowed(ContainerState.PROVISIONING, ContainerState.RUNNING));
        assertTrue(StateMachine.allowed(ContainerState.ISOLATING, ContainerState.CREATED));
        assertTrue(StateMachine.allowed(ContainerState.CREATED, ContainerState.RUNNING));
        assertFalse(StateMachine.allowed(ContainerState.RUNNING, ContainerState.CREATED));
        // the one way back: a pause and its resume
        assertTrue(StateMachine.allowed(ContainerState.RUNNING, ContainerState.PAUSED));
        assertTrue(StateMachine.allowed(ContainerState.PAUSED, ContainerState.RUNNING));
        assertTrue(StateMachine.allowed(ContainerState.PAUSED, ContainerState.DESTROYING));
        assertFalse(StateMachine.allowed(ContainerState.CREATED, ContainerState.PAUSED));
        assertEquals(8, Stream.of(ContainerState.values()).filter(s -> s != ContainerState.UNRECOGNIZED
                && s != ContainerState.CONTAINER_STATE_UNSPECIFIED).count());
    }
}
