package dev.vessel.core.containerizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.checkpoint.CheckpointFile;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.ValidationException;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.ExecState;
import dev.vessel.core.model.ExecStatus;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.testing.CallLog;
import dev.vessel.core.testing.FakeLauncher;
import dev.vessel.core.testing.FakeProcessTable;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Execs, attach and resize through the containerizer, against a fake launcher whose processes outlive a
 * containerizer thrown away (a daemon SIGKILLed): records on disk, their ends (their own and their
 * container's), recovery, removal, and the refusals naming the field.
 */
class ContainerExecsTest {
    @TempDir
    Path tmp;

    RuntimePaths paths;
    Path hostRootfs;
    final CallLog log = new CallLog();
    final FakeProcessTable processes = new FakeProcessTable();

    @BeforeEach
    void setUp() throws Exception {
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        hostRootfs = Files.createDirectories(tmp.resolve("rootfs"));
    }

    final class Node {
        final FakeLauncher launcher = new FakeLauncher("process", Isolation.PROCESS, processes, log);
        final UnifiedContainerizer containerizer = UnifiedContainerizer.builder(paths,
                new ConfigValidator(new NodeCapacity(4, 16L << 30))).launcher(launcher).build();

        Node() {
            containerizer.recover();
        }
    }

    ContainerConfig config(String id) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS).addCommand("/bin/sh")
                .setHostRootfs(hostRootfs.toString()).build();
    }

    static ExecConfig exec(String... command) {
        return ExecConfig.newBuilder().addAllCommand(List.of(command)).build();
    }

    Path execDir(String container, String execId) {
        return paths.execDir(paths.containerDir(List.of(container)), execId);
    }

    ExecStatus onDisk(String container, String execId) {
        return CheckpointFile.read(paths.execRecord(execDir(container, execId)), ContainerExecs.RECORD_CODEC).orElseThrow();
    }

    static void eventually(Supplier<Boolean> condition, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("never came true: " + what.get());
            }
            Thread.sleep(10);
        }
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void anExecIsRecordedStartedListedAndEndsWithItsStatus() throws Exception {
        Node node = new Node();
        node.containerizer.launch(config("c"));

        ExecStatus created = node.containerizer.execCreate("c", exec("/bin/echo", "hi"));
        assertEquals(ExecState.EXEC_CREATED, created.getState());
        assertEquals(ExecState.EXEC_CREATED, onDisk("c", created.getId()).getState());
        assertEquals(List.of(created), node.containerizer.status("c").getExecsList());

        ExecStatus started = node.containerizer.execStartDetached("c", created.getId());
        assertEquals(ExecState.EXEC_RUNNING, started.getState());
        assertTrue(processes.alive(started.getPid()));
        assertEquals(started.getPid(), onDisk("c", created.getId()).getPid());
        assertEquals(List.of("process:exec:c//bin/echo hi"), log.matching(":exec:"));
        VesselException again = assertThrows(VesselException.class,
                () -> node.containerizer.execStartDetached("c", created.getId()));
        assertEquals(ErrorCode.FAILED_PRECONDITION, again.code());

        processes.exit(started.getPid(), 3);
        eventually(() -> node.containerizer.execStatus("c", created.getId()).getState() == ExecState.EXEC_EXITED,
                () -> node.containerizer.execStatus("c", created.getId()).toString());
        ExecStatus ended = node.containerizer.execStatus("c", created.getId());
        assertEquals(3, ended.getExitCode());
        assertTrue(ended.hasStartedAt() && ended.hasFinishedAt());
        assertEquals(ended, onDisk("c", created.getId()));
        assertEquals(List.of(ended), node.containerizer.status("c").getExecsList());
    }

    @Test
    void anAttachedStartConnectsToTheExecsStdioAndResizeReachesATerminal() throws Exception {
        Node node = new Node();
        node.containerizer.launch(config("c").toBuilder().setTty(true).build());
        node.containerizer.launch(config("plain"));

        node.containerizer.resize("c", 40, 120);
        assertEquals(List.of("c:RESIZE 40x120", "c:closed"), node.launcher.framesSent);
        VesselException noTty = assertThrows(VesselException.class, () -> node.containerizer.resize("plain", 40, 120));
        assertEquals("tty", noTty.field().orElseThrow());
        assertEquals("rows", field(() -> node.containerizer.resize("c", 0, 80)));
        assertEquals("columns", field(() -> node.containerizer.resize("c", 24, 65536)));

        ExecStatus created = node.containerizer.execCreate("c", exec("/bin/sh").toBuilder().setTty(true).build());
        try (StdioChannel channel = node.containerizer.execStart("c", created.getId())) {
            node.containerizer.execResize("c", created.getId(), 10, 20);
        }
        assertEquals(List.of(created.getId() + ":RESIZE 10x20", created.getId() + ":closed",
                created.getId() + ":closed"), node.launcher.framesSent.subList(2, 5));
        assertEquals(ExecState.EXEC_RUNNING, node.containerizer.execStatus("c", created.getId()).getState());
        try (StdioChannel task = node.containerizer.attach("c")) {
            assertEquals(List.of("process:attach:c", "process:attach:c"), log.matching(":attach:"));
        }
    }

    @Test
    void badExecsAreRefusedNamingTheFieldAndOnlyARunningContainerTakesOne() throws Exception {
        Node node = new Node();
        node.containerizer.launch(config("c"));
        assertEquals("command", field(() -> node.containerizer.execCreate("c", ExecConfig.getDefaultInstance())));
        assertEquals("command[0]", field(() -> node.containerizer.execCreate("c", exec(""))));
        assertEquals("working_dir", field(() -> node.containerizer.execCreate("c",
                exec("ls").toBuilder().setWorkingDir("tmp").build())));
        assertEquals("user", field(() -> node.containerizer.execCreate("c",
                exec("ls").toBuilder().setUser("a:b:c").build())));
        assertEquals("env[0].name", field(() -> node.containerizer.execCreate("c",
                exec("ls").toBuilder().addEnv(EnvVar.newBuilder().setName("A=B")).build())));
        assertTrue(assertThrows(ValidationException.class, () -> node.containerizer.execCreate("c",
                exec("").toBuilder().setWorkingDir("x").build())).violations().size() == 2);
        assertEquals(ErrorCode.NOT_FOUND, assertThrows(VesselException.class,
                () -> node.containerizer.execCreate("nosuch", exec("ls"))).code());
        assertEquals(ErrorCode.NOT_FOUND, assertThrows(VesselException.class,
                () -> node.containerizer.execStartDetached("c", "nosuch")).code());
        assertFalse(Files.exists(paths.execsDir(paths.containerDir(List.of("c")))), "a refused exec left a record");

        long pid = node.containerizer.status("c").getPid();
        processes.exit(pid, 0);
        node.containerizer.wait("c").get(10, TimeUnit.SECONDS);
        VesselException ended = assertThrows(VesselException.class, () -> node.containerizer.execCreate("c", exec("ls")));
        assertEquals(ErrorCode.FAILED_PRECONDITION, ended.code());
        assertEquals(ErrorCode.FAILED_PRECONDITION,
                assertThrows(VesselException.class, () -> node.containerizer.attach("c")).code());
    }

    /** The kernel ends the processes of a container's namespaces with it; so do their records. */
    @Test
    void execsEndWithTheirContainerAndGoWithIt() throws Exception {
        Node node = new Node();
        node.containerizer.launch(config("c"));
        ExecStatus running = node.containerizer.execStartDetached("c",
                node.containerizer.execCreate("c", exec("sleep", "1000")).getId());
        ExecStatus unstarted = node.containerizer.execCreate("c", exec("true"));

        node.containerizer.destroy("c");
        ExecStatus ended = node.containerizer.execStatus("c", running.getId());
        assertEquals(ExecState.EXEC_EXITED, ended.getState());
        assertEquals(128 + 9, ended.getExitCode());
        assertEquals(ended, onDisk("c", running.getId()));
        assertEquals(ExecState.EXEC_CREATED, node.containerizer.execStatus("c", unstarted.getId()).getState());
        assertEquals(ErrorCode.FAILED_PRECONDITION, assertThrows(VesselException.class,
                () -> node.containerizer.execStartDetached("c", unstarted.getId())).code());

        // a new run of the container starts without the last run's execs
        node.containerizer.start("c");
        assertEquals(List.of(), node.containerizer.status("c").getExecsList());
        assertFalse(Files.exists(execDir("c", running.getId())));
        node.containerizer.execStartDetached("c", node.containerizer.execCreate("c", exec("true")).getId());
        node.containerizer.destroy("c");
        node.containerizer.remove("c");
        assertFalse(Files.exists(paths.containerDir(List.of("c"))));
    }

    /**
     * A daemon SIGKILLed while an exec runs: its successor finds the exec again (its pid, through the
     * launcher), records its end when it comes, records as lost one of which nothing was left, and keeps
     * ended ones with their status.
     */
    @Test
    void aRestartedNodeFindsRunningExecsAgainAndRecordsTheirEnds() throws Exception {
        Node first = new Node();
        first.containerizer.launch(config("c"));
        ExecStatus ended = first.containerizer.execStartDetached("c", first.containerizer.execCreate("c", exec("true")).getId());
        processes.exit(ended.getPid(), 0);
        eventually(() -> first.containerizer.execStatus("c", ended.getId()).getState() == ExecState.EXEC_EXITED,
                () -> "the first exec's end");
        ExecStatus running = first.containerizer.execStartDetached("c", first.containerizer.execCreate("c", exec("sleep")).getId());
        ExecStatus vanished = first.containerizer.execStartDetached("c", first.containerizer.execCreate("c", exec("sh")).getId());
        first.launcher.crash();
        processes.forget(vanished.getPid());

        Node second = new Node();
        assertEquals(ExecState.EXEC_RUNNING, second.containerizer.execStatus("c", running.getId()).getState());
        assertEquals(running.getPid(), second.containerizer.execStatus("c", running.getId()).getPid());
        assertEquals(0, second.containerizer.execStatus("c", ended.getId()).getExitCode());
        ExecStatus lost = second.containerizer.execStatus("c", vanished.getId());
        assertEquals(ExecState.EXEC_EXITED, lost.getState());
        assertEquals(ContainerExecs.LOST, lost.getExitCode());
        assertEquals(3, second.containerizer.status("c").getExecsCount());

        processes.exit(running.getPid(), 7);
        eventually(() -> second.containerizer.execStatus("c", running.getId()).getState() == ExecState.EXEC_EXITED,
                () -> "the recovered exec's end");
        assertEquals(7, onDisk("c", running.getId()).getExitCode());
        second.containerizer.destroy("c");
        second.containerizer.remove("c");
        assertFalse(Files.exists(paths.containerDir(List.of("c"))));
    }

    private static String field(org.junit.jupiter.api.function.Executable call) {
        return assertThrows(VesselException.class, call).field().orElse(null);
    }
}
