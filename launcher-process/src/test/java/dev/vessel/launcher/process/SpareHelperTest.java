package dev.vessel.launcher.process;

import static dev.vessel.launcher.process.Fixtures.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Termination;
import dev.vessel.core.paths.RuntimePaths;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node's process launcher keeps a helper started ahead of its next launch ({@link ProcessLauncher#keepingSpareHelper}):
 * which helper became a task's monitor is told by the launcher's checkpoint, and the helpers running by /proc.
 */
class SpareHelperTest {
    @TempDir
    static Path tmp;

    static Path rootfs;
    static RuntimePaths paths;
    static ProcessLauncher launcher;
    static UnifiedContainerizer containerizer;

    @BeforeAll
    static void setUp() throws Exception {
        Fixtures.requireEnvironment();
        rootfs = Fixtures.busyboxRootfs(tmp.resolve("rootfs"));
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        launcher = ProcessLauncher.withBundledHelper(paths).keepingSpareHelper();
        containerizer = Fixtures.containerizer(paths, launcher);
    }

    @AfterAll
    static void closingEndsTheSpare() throws Exception {
        launcher.close();
        Fixtures.await("the spare to end", () -> "helpers: " + helpers(), () -> helpers().isEmpty());
    }

    private static Termination run(ContainerConfig.Builder config) throws Exception {
        containerizer.launch(config.build());
        return containerizer.wait(config.getId()).get(10, TimeUnit.SECONDS);
    }

    private static List<Long> helpers() {
        try {
            return Fixtures.helperProcesses(paths.launchHelper());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The one helper running once every task has ended: the spare, waiting for a plan. */
    private static long awaitSpare() throws Exception {
        Fixtures.await("one spare helper", () -> "helpers: " + helpers(), () -> helpers().size() == 1);
        return helpers().get(0);
    }

    @Test
    void aLaunchTakesTheHelperStartedAheadAndTheNextOneStartsBehindIt() throws Exception {
        assertEquals(0, run(config(rootfs, "first", "/bin/true")).getExitCode());
        long spare = awaitSpare();

        Termination second = run(config(rootfs, "second", "/bin/sh", "-c", "echo from-the-spare; exit 4"));
        assertEquals(4, second.getExitCode(), second::toString);
        assertEquals("from-the-spare\n", Fixtures.read(paths.stdoutLog(Fixtures.containerDir(paths, "second"))));
        assertEquals(spare, Fixtures.checkpoint(paths, "second").getHelperPid(), "the launch spawned its own helper");
        assertNotEquals(spare, awaitSpare(), "no new spare behind the launch");
    }

    @Test
    void aSpareKilledBeforeItsLaunchIsReplacedAndTheLaunchRunsAsItWould() throws Exception {
        assertEquals(0, run(config(rootfs, "before-kill", "/bin/true")).getExitCode());
        long spare = awaitSpare();
        assertEquals(0, new ProcessBuilder("kill", "-KILL", Long.toString(spare)).start().waitFor());
        Fixtures.await("the spare to die", () -> "helpers: " + helpers(), () -> !helpers().contains(spare));

        Termination t = run(config(rootfs, "after-kill", "/bin/sh", "-c", "echo fine"));
        assertEquals(0, t.getExitCode(), t::toString);
        assertEquals("fine\n", Fixtures.read(paths.stdoutLog(Fixtures.containerDir(paths, "after-kill"))));
        assertNotEquals(spare, Fixtures.checkpoint(paths, "after-kill").getHelperPid());
    }
}
