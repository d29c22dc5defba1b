package dev.vessel.launcher.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.linux.ProcStat;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon is killed with SIGKILL while its containers run; a new one finds them all again. */
class CrashRecoveryTest {
    @TempDir
    Path tmp;

    @Test
    void aNewDaemonFindsTheTasksOfAKilledOne() throws Throwable {
        Fixtures.requireEnvironment();
        Path rootfs = Fixtures.busyboxRootfs(tmp.resolve("rootfs"));
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        Reaper.becomeSubreaper(); // the killed daemon's helpers become ours (PID 1 here reaps nothing)

        Process daemon = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                CrashDaemonMain.class.getName(), paths.stateDir().toString(), paths.runDir().toString(), rootfs.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String line = new BufferedReader(new InputStreamReader(daemon.getInputStream())).readLine();
        assertEquals("ready", line, "the daemon did not start its containers");
        ProcessTaskCheckpoint longTask = Fixtures.checkpoint(paths, "long");
        ProcessTaskCheckpoint shortTask = Fixtures.checkpoint(paths, "short");
        daemon.destroyForcibly().waitFor();

        // "short" ends while no daemon runs: only its monitor sees it and writes the exit file.
        Path shortExit = paths.exitFile(Fixtures.containerDir(paths, "short"));
        Fixtures.await("the short task's exit file", () -> "", () -> Files.exists(shortExit));

        UnifiedContainerizer containerizer = Fixtures.containerizer(paths, ProcessLauncher.withBundledHelper(paths));

        ContainerStatus running = containerizer.status("long");
        assertEquals(ContainerState.RUNNING, running.getState());
        assertEquals(longTask.getTaskPid(), running.getPid());
        assertTrue(ProcStat.isSame(longTask.getTaskPid(), longTask.getTaskStartTime()), "not the same process");

        Termination shortEnd = containerizer.wait("short").get(10, TimeUnit.SECONDS);
        assertEquals(TerminationReason.EXITED, shortEnd.getReason());
        assertEquals(7, shortEnd.getExitCode());

        Termination longEnd = containerizer.destroy("long");
        assertEquals(TerminationReason.KILLED, longEnd.getReason());
        assertFalse(ProcStat.isSame(longTask.getTaskPid(), longTask.getTaskStartTime()), "the task survived destroy");
        Reaper.reap(longTask.getHelperPid());
        Reaper.reap(shortTask.getHelperPid());
        assertEquals(List.of(), Fixtures.helperProcesses(paths.launchHelper()));
    }
}
