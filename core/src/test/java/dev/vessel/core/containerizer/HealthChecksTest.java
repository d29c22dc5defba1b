package dev.vessel.core.containerizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.HealthCheck;
import dev.vessel.core.model.HealthStatus;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** How a health check's runs become a container's status, with a runner that answers what each test asks. */
class HealthChecksTest {
    private final Deque<Integer> exits = new ArrayDeque<>();
    private final List<ExecConfig> ran = new ArrayList<>();
    private final List<String> changes = new ArrayList<>();
    private final List<String> actions = new ArrayList<>();
    private final HealthChecks checks = new HealthChecks((id, command, timeout) -> {
        synchronized (ran) {
            ran.add(command);
        }
        Integer exit = exits.poll();
        return exit == null ? Optional.empty() : Optional.of(new HealthChecks.Outcome(Timestamps.now(), Timestamps.now(),
                exit, "ran " + exit + "\n"));
    }, new HealthChecks.Reaction() {
        @Override
        public void changed(String containerId, String status) {
            changes.add(containerId + " " + status);
        }

        @Override
        public void unhealthy(String containerId, String onFailure) {
            synchronized (actions) {
                actions.add(containerId + " " + onFailure);
                actions.notifyAll();
            }
        }
    });

    private static ContainerConfig withCheck(HealthCheck.Builder check) {
        // a long interval: the test runs each check itself (runNow), none is scheduled meanwhile
        return ContainerConfig.newBuilder().setId("web").setHealthCheck(check.setIntervalMs(3_600_000)).build();
    }

    private HealthStatus run(int exit) {
        exits.add(exit);
        return checks.runNow("web").orElseThrow();
    }

    @Test
    void startingUntilAPassThenUnhealthyAfterRetriesFailuresInARowAndHealthyAgainAtThePass() {
        checks.started("web", withCheck(HealthCheck.newBuilder().addTest("CMD-SHELL").addTest("test -e /ok")
                .setRetries(2)));
        assertEquals("starting", checks.status("web").orElseThrow().getStatus());
        assertEquals("starting", run(1).getStatus(), "one failure of two allowed");
        assertEquals(1, checks.status("web").orElseThrow().getFailingStreak());
        assertEquals("healthy", run(0).getStatus());
        assertEquals(0, checks.status("web").orElseThrow().getFailingStreak());
        assertEquals("healthy", run(3).getStatus());
        HealthStatus unhealthy = run(3);
        assertEquals("unhealthy", unhealthy.getStatus());
        assertEquals(2, unhealthy.getFailingStreak());
        assertEquals("healthy", run(0).getStatus());
        assertEquals(List.of("web healthy", "web unhealthy", "web healthy"), changes);
        assertEquals(List.of("/bin/sh", "-c", "test -e /ok"), ran.getFirst().getCommandList());
        assertTrue(actions.isEmpty(), "on_failure none does nothing");
    }

    @Test
    void theLogKeepsTheLastFiveRunsWithTheirOutput() {
        checks.started("web", withCheck(HealthCheck.newBuilder().addTest("CMD").addTest("/bin/true")));
        for (int exit : new int[] {0, 1, 2, 3, 4, 5, 6}) {
            run(exit);
        }
        HealthStatus status = checks.status("web").orElseThrow();
        assertEquals(List.of(2, 3, 4, 5, 6), status.getLogList().stream().map(l -> l.getExitCode()).toList());
        assertEquals("ran 6\n", status.getLog(4).getOutput());
        assertEquals(List.of("/bin/true"), ran.getFirst().getCommandList());
    }

    @Test
    void failuresInTheStartPeriodDoNotCountWhileStarting() {
        checks.started("web", withCheck(HealthCheck.newBuilder().addTest("CMD").addTest("probe").setRetries(1)
                .setStartPeriodMs(3_600_000)));
        assertEquals("starting", run(1).getStatus());
        assertEquals("starting", run(1).getStatus());
        assertEquals(0, checks.status("web").orElseThrow().getFailingStreak());
        assertEquals("healthy", run(0).getStatus());
        assertEquals("unhealthy", run(1).getStatus(), "once healthy, the start period no longer shields it");
    }

    @Test
    void becomingUnhealthyTriggersOnFailureOnceAndTheEndStopsEverything() throws Exception {
        checks.started("web", withCheck(HealthCheck.newBuilder().addTest("CMD").addTest("probe").setRetries(1)
                .setOnFailure("kill")));
        run(1);
        run(1);
        synchronized (actions) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (actions.isEmpty() && System.nanoTime() < deadline) {
                actions.wait(100);
            }
        }
        assertEquals(List.of("web kill"), actions, "once, on the change to unhealthy");
        checks.ended("web");
        assertFalse(checks.status("web").isPresent());
        assertFalse(checks.runNow("web").isPresent());
    }

    @Test
    void noneOrNoCheckWatchesNothingAndARunThatDidNotHappenChangesNothing() {
        checks.started("web", ContainerConfig.newBuilder().setId("web").build());
        assertFalse(checks.status("web").isPresent());
        checks.started("web", withCheck(HealthCheck.newBuilder().addTest("NONE")));
        assertFalse(checks.status("web").isPresent(), "NONE turns an image's check off");
        checks.started("web", withCheck(HealthCheck.newBuilder().addTest("CMD").addTest("probe")));
        assertEquals("starting", checks.runNow("web").orElseThrow().getStatus(), "the container did not run it");
        assertEquals(0, checks.status("web").orElseThrow().getLogCount());
    }

    @Test
    void aScheduledRunComesEveryInterval() throws Exception {
        for (int i = 0; i < 10; i++) {
            exits.add(0);
        }
        checks.started("web", ContainerConfig.newBuilder().setId("web").setHealthCheck(HealthCheck.newBuilder()
                .addTest("CMD").addTest("probe").setIntervalMs(50)).build());
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (checks.status("web").orElseThrow().getLogCount() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals("healthy", checks.status("web").orElseThrow().getStatus());
        assertTrue(checks.status("web").orElseThrow().getLogCount() >= 2, "ran on its own, more than once");
        checks.ended("web");
    }
}
