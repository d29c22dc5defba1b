package dev.vessel.launcher.process;

import static dev.vessel.launcher.process.Fixtures.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Namespace;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code LaunchInfo.cgroups}: the helper starts the task in them (v1 by the child writing itself into
 * {@code tasks}, v2 by clone3's CLONE_INTO_CGROUP) before anyone learns its pid, with no move by Java,
 * and a cgroup namespace is rooted there.
 */
class CgroupPlacementTest {
    @TempDir
    static Path tmp;

    static final String PARENT = "vessel-placement-" + UUID.randomUUID().toString().substring(0, 8);
    static Path rootfs;
    static RuntimePaths paths;
    static UnifiedContainerizer containerizer;
    /** What the host saw in /proc/<pid>/cgroup when isolate ran, by container. */
    static final Map<String, String> seenAtIsolate = new ConcurrentHashMap<>();
    /** The cgroup mounts of this host: v1 hierarchies by controller, and the v2 one. */
    static final List<Path> MOUNTS = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        Fixtures.requireEnvironment();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] after = line.substring(line.indexOf(" - ") + 3).split(" ");
            Path mountPoint = Path.of(line.split(" ")[4]);
            boolean v1 = after[0].equals("cgroup") && List.of(after[2].split(",")).stream()
                    .anyMatch(o -> o.equals("memory") || o.equals("pids"));
            if (v1 || after[0].equals("cgroup2")) {
                MOUNTS.add(mountPoint);
            }
        }
        assertFalse(MOUNTS.isEmpty(), "no cgroup hierarchy mounted on this host");
        rootfs = Fixtures.busyboxRootfs(tmp.resolve("rootfs"));
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        containerizer = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(ProcessLauncher.withBundledHelper(paths)).isolators(List.of(new PlacingIsolator())).build();
        containerizer.recover();
    }

    @AfterAll
    static void tearDown() throws IOException {
        containerizer.list().forEach(s -> containerizer.destroy(s.getId()));
        for (Path mount : MOUNTS) {
            Files.deleteIfExists(mount.resolve(PARENT));
        }
    }

    /** Asks for a cgroup of its own in each hierarchy and a cgroup namespace; moves nothing itself. */
    static final class PlacingIsolator implements Isolator {
        @Override
        public String name() {
            return "test/placing";
        }

        @Override
        public LaunchInfo prepare(PrepareContext context) throws IOException {
            LaunchInfo.Builder info = LaunchInfo.newBuilder().addNamespaces(Namespace.CGROUP);
            for (Path mount : MOUNTS) {
                Path dir = mount.resolve(PARENT).resolve(context.containerId());
                Files.createDirectories(dir);
                info.addCgroups(dir.toString());
            }
            if (context.containerId().equals("nowhere")) {
                info.addCgroups(MOUNTS.getFirst().resolve(PARENT).resolve("missing").toString());
            }
            return info.build();
        }

        @Override
        public void isolate(ContainerContext context, long pid) throws IOException {
            seenAtIsolate.put(context.containerId(), Files.readString(Path.of("/proc/" + pid + "/cgroup")));
        }

        @Override
        public void cleanup(ContainerContext context) throws IOException {
            for (Path mount : MOUNTS) {
                Files.deleteIfExists(mount.resolve(PARENT).resolve(context.containerId()));
            }
        }
    }

    @Test
    void theTaskIsInItsCgroupsBeforeIsolateAndItsCgroupNamespaceIsRootedThere() throws Exception {
        containerizer.launch(config(rootfs, "placed", "/bin/cat", "/proc/self/cgroup").build());
        Termination t = containerizer.wait("placed").get(10, TimeUnit.SECONDS);
        assertEquals(TerminationReason.EXITED, t.getReason(), t.toString());
        assertEquals(0, t.getExitCode(), t.toString());

        String host = seenAtIsolate.get("placed");
        String inside = Fixtures.read(paths.stdoutLog(Fixtures.containerDir(paths, "placed")));
        for (Path mount : MOUNTS) {
            String line = lineFor(mount, host);
            assertTrue(line.endsWith(":/" + PARENT + "/placed"), "at isolate, in " + mount + ": " + host);
            String insideLine = lineFor(mount, inside);
            assertTrue(insideLine.endsWith(":/"), "the cgroup namespace is not rooted at the task's cgroup "
                    + "in " + mount + ": " + inside);
        }
    }

    @Test
    void aMissingCgroupFailsNamingItAndLeavesNothing() throws Exception {
        VesselException e = assertThrows(VesselException.class,
                () -> containerizer.launch(config(rootfs, "nowhere", "/bin/true").build()));
        assertTrue(e.getMessage().contains("cgroup " + MOUNTS.getFirst().resolve(PARENT).resolve("missing")),
                e.getMessage());
        assertFalse(Files.exists(MOUNTS.getFirst().resolve(PARENT).resolve("nowhere")), "its cgroup was left");
        assertEquals(List.of(), Fixtures.helperProcesses(paths.launchHelper()));
    }

    /** The /proc/<pid>/cgroup line of the hierarchy mounted at {@code mount}. */
    private static String lineFor(Path mount, String procCgroup) throws IOException {
        boolean v2 = Files.exists(mount.resolve("cgroup.controllers"));
        String controller = v2 ? null : Files.exists(mount.resolve("memory.limit_in_bytes")) ? "memory" : "pids";
        return procCgroup.lines().filter(l -> {
            String[] f = l.split(":", 3);
            return v2 ? f[0].equals("0") : List.of(f[1].split(",")).contains(controller);
        }).findFirst().orElseThrow(() -> new AssertionError("no line for " + mount + " in " + procCgroup));
    }
}
