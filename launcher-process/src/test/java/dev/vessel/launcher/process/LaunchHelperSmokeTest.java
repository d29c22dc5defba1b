package dev.vessel.launcher.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The launch helper driven as Java drives it, from a shell script (src/test/c/smoke.sh): each plan
 * record's effect on a real busybox container — mounts, namespaces created and joined, identity,
 * capabilities, seccomp, logs and exit files, the init, the attach socket and terminals — and the
 * refusals of bad plans. It builds its own helper from the sources, so it tests exactly them.
 */
class LaunchHelperSmokeTest {
    @Test
    void everyCaseOfTheSmokeScriptPasses() throws Throwable {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("the launch helper's smoke test needs root");
        }
        Path script = Path.of("src/test/c/smoke.sh").toAbsolutePath();
        Process p = new ProcessBuilder("bash", script.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "smoke.sh did not end");
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.lines().anyMatch(l -> l.matches("passed \\d+, failed 0")), output);
        reapWhatTheScriptLeft();
    }

    /**
     * A test before may have made this JVM a child subreaper (the crash test does), and the monitors the
     * script started outlive it for a moment: they become this JVM's children. Each must end on its own
     * (none may be left running) and is reaped, so the tests after see none of them.
     */
    private static void reapWhatTheScriptLeft() throws Throwable {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            for (long zombie : Fixtures.zombieChildren()) {
                Reaper.reap(zombie);
            }
            List<ProcessHandle> left = ProcessHandle.current().children().toList();
            if (left.isEmpty()) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "smoke.sh left processes running: " + left.stream()
                    .map(h -> h.pid() + " " + h.info().commandLine().orElse("?")).toList());
            Thread.sleep(100);
        }
    }
}
