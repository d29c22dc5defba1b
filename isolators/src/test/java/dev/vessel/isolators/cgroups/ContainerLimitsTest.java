package dev.vessel.isolators.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.LimitationReason;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.isolators.linux.LinuxCapabilitiesIsolator;
import dev.vessel.isolators.testing.ProcessNode;
import dev.vessel.linux.CgroupHierarchies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cgroup isolators with real process containers, through the unified containerizer. */
class ContainerLimitsTest {
    @TempDir
    static Path tmp;

    static final String PARENT = ProcessNode.uniqueCgroupParent("vessel-test-");
    static final CgroupHierarchies HIERARCHIES = CgroupHierarchies.detect();
    static ProcessNode node;

    @BeforeAll
    static void startNode() throws Exception {
        // the cgroup isolators (and capabilities, for CAP_MKNOD) alone, not the catalog's default chain
        node = ProcessNode.start(tmp, "container limit", p -> {
            CgroupsIsolator cgroups = new CgroupsIsolator(HIERARCHIES, PARENT);
            return List.of(cgroups, new MemoryIsolator(cgroups), new CpuIsolator(cgroups), new PidsIsolator(cgroups),
                    new DevicesIsolator(HIERARCHIES), new LinuxCapabilitiesIsolator());
        });
    }

    @AfterAll
    static void stopNode() throws Exception {
        ProcessNode.stop(node, HIERARCHIES, PARENT);
    }

    static ContainerConfig config(String id, Resources resources, String script) {
        return node.shellConfig(id, script).setResources(resources).build();
    }

    /** Unlike {@link ProcessNode#runToExit}, any end will do: a container here may be ended by a limit. */
    static Termination run(ContainerConfig config) throws Exception {
        node.containerizer().launch(config);
        return node.containerizer().wait(config.getId()).get(60, TimeUnit.SECONDS);
    }

    static List<Path> cgroupDirs(String id) {
        return HIERARCHIES.all().stream().map(h -> h.mountPoint().resolve(PARENT).resolve(id))
                .filter(Files::exists).toList();
    }

    @Test
    void aMemoryHogInA32MibContainerEndsWithReasonOom() throws Exception {
        Termination t = run(config("hog", Resources.newBuilder().setMemoryBytes(32L << 20).build(),
                "a=xxxxxxxxxxxxxxxx; while true; do a=$a$a; done"));
        assertEquals(TerminationReason.LIMITATION, t.getReason(), t.toString());
        assertEquals(LimitationReason.OOM, t.getLimitation().getReason());
        assertEquals(List.of(), cgroupDirs("hog"));
    }

    @Test
    void aForkBombStopsAtThePidsLimit() throws Exception {
        Termination t = run(config("bomb", Resources.newBuilder().setPids(16).build(),
                "i=0; while [ $i -lt 100 ]; do sleep 100 & i=$((i+1)); done; echo forked"));
        assertTrue(node.stderr("bomb").contains("Resource temporarily unavailable"), node.stderr("bomb"));
        assertEquals(TerminationReason.EXITED, t.getReason());
        assertEquals(List.of(), cgroupDirs("bomb"));
    }

    @Test
    void halfACpuShowsAsThrottlingInUsage() throws Exception {
        long start = System.nanoTime();
        node.containerizer().launch(config("spin", Resources.newBuilder().setCpus(0.5).build(),
                "while true; do :; done"));
        // on a busy machine the spinner may not get half a CPU at first: wait for the first throttled period
        ResourceStatistics usage = node.containerizer().usage("spin");
        while (usage.getCpuThrottledPeriods() == 0 && System.nanoTime() - start < 30_000_000_000L) {
            Thread.sleep(200);
            usage = node.containerizer().usage("spin");
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        assertTrue(usage.getCpuThrottledPeriods() > 0, usage.toString());
        // never more than half a CPU (plus one 100 ms period of slack)
        assertTrue(usage.getCpuUserSeconds() + usage.getCpuSystemSeconds() < 0.5 * elapsed + 0.1,
                elapsed + " s: " + usage);
        assertNotEquals(0, usage.getMemoryUsageBytes(), usage.toString());
        node.containerizer().destroy("spin");
    }

    @Test
    void aDeviceOutsideTheAllowlistIsRefused() throws Exception {
        // CAP_MKNOD asked for: the devices controller, not a missing capability, must be what refuses
        Termination t = run(config("devices", Resources.getDefaultInstance(),
                "head -c 1 /dev/zero >/dev/null && mknod /tmp/kmsg c 1 11 && head -c 1 /tmp/kmsg").toBuilder()
                .setCapabilities(Capabilities.newBuilder().addAdd("CAP_MKNOD")).build());
        assertNotEquals(0, t.getExitCode());
        assertTrue(node.stderr("devices").contains("Operation not permitted"), node.stderr("devices"));
    }

    @Test
    void destroyLeavesNoCgroupBehind() throws Exception {
        node.containerizer().launch(config("sleeper",
                Resources.newBuilder().setMemoryBytes(64L << 20).setPids(10).build(), "sleep 1000 & sleep 1000"));
        assertFalse(cgroupDirs("sleeper").isEmpty());
        Termination t = node.containerizer().destroy("sleeper");
        assertEquals(TerminationReason.KILLED, t.getReason());
        assertEquals(List.of(), cgroupDirs("sleeper"));
    }
}
