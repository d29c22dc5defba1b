package dev.vessel.isolators.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.isolators.IsolatorCatalog.Placement;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.IsolatorContext;
import dev.vessel.isolators.testing.ProcessNode;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Node-wide limits on the cgroup parent, on a parent of the test's own: the real node's limits are never
 * touched.
 */
class NodeLimitsTest {
    static final CgroupHierarchies HIERARCHIES = CgroupHierarchies.detect();
    final String parent = "vessel-nodelimits-" + UUID.randomUUID().toString().substring(0, 8);

    @TempDir
    Path tmp;
    UnifiedContainerizer containerizer;

    @AfterEach
    void removeParent() throws Exception {
        if (containerizer != null) {
            containerizer.list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                    .forEach(s -> containerizer.destroy(s.getId()));
        }
        for (CgroupHierarchy h : HIERARCHIES.all()) {
            Files.deleteIfExists(h.mountPoint().resolve(parent));
        }
    }

    static CgroupHierarchy hierarchy(String controller) {
        return HIERARCHIES.forController(controller)
                .orElseThrow(() -> new AssertionError("this host mounts no " + controller + " controller"));
    }

    String parentFile(String controller, String file) throws Exception {
        return Files.readString(hierarchy(controller).mountPoint().resolve(parent).resolve(file)).strip();
    }

    @Test
    void theLimitsAreWrittenOnTheParentAndAnUnsetOneIsSetBackToNone() throws Exception {
        boolean v2 = hierarchy("memory").unified();
        String memoryFile = v2 ? "memory.max" : "memory.limit_in_bytes";
        new NodeLimits(OptionalLong.of(256L << 20), OptionalLong.of(500)).applyTo(HIERARCHIES, parent);
        assertEquals(Long.toString(256L << 20), parentFile("memory", memoryFile));
        assertEquals("500", parentFile("pids", "pids.max"));

        NodeLimits.NONE.applyTo(HIERARCHIES, parent); // a restart without them
        assertEquals("max", parentFile("pids", "pids.max"));
        String memory = parentFile("memory", memoryFile);
        assertTrue(v2 ? memory.equals("max") : Long.parseLong(memory) > (1L << 50), memory);
    }

    /**
     * A container whose own limit is 100 tries to have 20 sleeps at once under a node limit of 10: the
     * forks past the node's limit fail, and the container never holds more than 10 processes.
     */
    @Test
    void aContainerCannotPassTheNodesPidsLimitWhateverItsOwn() throws Exception {
        new NodeLimits(OptionalLong.empty(), OptionalLong.of(10)).applyTo(HIERARCHIES, parent);
        ProcessNode node = ProcessNode.start(tmp, "node limits", p -> IsolatorCatalog.build(
                IsolatorContext.of(p, HIERARCHIES, parent), EnumSet.of(Placement.PROCESS_HOST)));
        containerizer = node.containerizer();
        RuntimePaths paths = node.paths();
        // The inner shell forks sleeps until a fork fails, which ends it; its sleeps stay, children of the
        // outer shell (the namespace's init), which counts them with builtins only: it could not fork either.
        String script = "sh -c 'i=0; while [ $i -lt 20 ]; do sleep 1000 & i=$((i+1)); done';"
                + " n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n; exit 0";
        containerizer.launch(ContainerConfig.newBuilder().setId("forks").setIsolation(Isolation.PROCESS)
                .addCommand("/bin/sh").addArgs("-c").addArgs(script).setHostRootfs(node.rootfs().toString())
                .setResources(Resources.newBuilder().setPids(100)).build());
        Termination t = containerizer.wait("forks").get(60, TimeUnit.SECONDS);
        Path dir = paths.containerDir(List.of("forks"));
        String stderr = Files.readString(paths.stderrLog(dir));
        assertEquals(TerminationReason.EXITED, t.getReason(), t + ", stderr " + stderr);
        String stdout = Files.readString(paths.stdoutLog(dir));
        assertTrue(stdout.matches("\\d+\n"), "stdout " + stdout + ", stderr " + stderr);
        int processes = Integer.parseInt(stdout.strip());
        assertTrue(processes <= 10, processes + " processes in the container, past the node's limit of 10");
        assertTrue(processes >= 2, "the shell and at least one sleep: " + processes);
        assertEquals(0, t.getExitCode(), t::toString);
        assertTrue(stderr.contains("can't fork") || stderr.contains("Resource temporarily unavailable"), stderr);
        assertEquals("10", parentFile("pids", "pids.max"));
    }
}
