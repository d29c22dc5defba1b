package dev.vessel.isolators;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.isolators.IsolatorCatalog.Placement;
import dev.vessel.isolators.cgroups.CgroupHierarchies;
import dev.vessel.isolators.cgroups.CgroupHierarchy;
import dev.vessel.isolators.cgroups.PidsIsolator;
import dev.vessel.isolators.testing.ProcessNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a container whose config asks for nothing may do, with the isolators a node runs for process
 * tasks by default: no more than under podman's defaults. Checked from inside real containers.
 *
 * <p>Writes are probed with {@code true >> file}: the shell opens the file for writing and writes
 * nothing, so a missing protection shows as a successful open and never changes the host. (busybox's
 * {@code test -w} answers yes to root whatever the mount says, so it cannot be the probe.)
 */
class DefaultConfinementTest {
    /** CapEff of a root task with podman's default set: bits 0 1 3 4 5 6 7 8 10 18 31. */
    static final String DEFAULT_CAPS = "00000000800405fb";

    @TempDir
    static Path tmp;

    static final String PARENT = "vessel-confine-" + UUID.randomUUID().toString().substring(0, 8);
    static final CgroupHierarchies HIERARCHIES = CgroupHierarchies.detect();
    static RuntimePaths paths;
    static Path rootfs;
    static UnifiedContainerizer containerizer;

    @BeforeAll
    static void startNode() throws Exception {
        ProcessNode node = ProcessNode.start(tmp, "confinement", p -> IsolatorCatalog.build(
                IsolatorContext.of(p, HIERARCHIES, PARENT), EnumSet.of(Placement.PROCESS_HOST)));
        paths = node.paths();
        rootfs = node.rootfs();
        containerizer = node.containerizer();
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (containerizer != null) {
            containerizer.list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                    .forEach(s -> containerizer.destroy(s.getId()));
        }
        for (CgroupHierarchy h : HIERARCHIES.all()) {
            Files.deleteIfExists(h.mountPoint().resolve(PARENT));
        }
    }

    static ContainerConfig.Builder config(String id, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS)
                .addCommand("/bin/sh").addArgs("-c").addArgs(script).setHostRootfs(rootfs.toString());
    }

    static Termination run(ContainerConfig.Builder config) throws Exception {
        containerizer.launch(config.build());
        Termination t = containerizer.wait(config.getId()).get(30, TimeUnit.SECONDS);
        assertEquals(TerminationReason.EXITED, t.getReason(), t + ", stderr " + stderr(config.getId()));
        return t;
    }

    static String stdout(String id) throws IOException {
        return Files.readString(paths.stdoutLog(paths.containerDir(List.of(id))));
    }

    static String stderr(String id) throws IOException {
        return Files.readString(paths.stderrLog(paths.containerDir(List.of(id))));
    }

    /** Of {@code paths}, those this host has (a small VM kernel may lack /proc/kcore or sysrq). */
    static List<String> onThisHost(String... paths) {
        return Stream.of(paths).filter(p -> Files.exists(Path.of(p))).toList();
    }

    /** Runs {@code script} with {@code paths} as its arguments and returns its stdout's lines. */
    static List<String> runOver(String id, String script, List<String> paths) throws Exception {
        run(config(id, script).addArgs(id).addAllArgs(paths));
        return stdout(id).lines().toList();
    }

    @Test
    void procSysAndSysrqTriggerCannotBeOpenedForWriting() throws Exception {
        List<String> files = onThisHost("/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger");
        assertTrue(files.contains("/proc/sys/kernel/core_pattern"), files.toString());
        List<String> out = runOver("proc-ro", "for f; do true >> $f && echo $f writable; done;"
                + " cat /proc/sys/kernel/ostype", files);
        assertEquals(List.of("Linux"), out, "only reading works: " + stderr("proc-ro"));
        assertEquals(files.size(), stderr("proc-ro").split("Read-only file system", -1).length - 1,
                stderr("proc-ro"));
    }

    @Test
    void runcsReadOnlyPathsAreReadOnlyMounts() throws Exception {
        // mountinfo: "id parent dev root mount-point options ..."
        run(config("ro-mounts", "awk '$6 ~ /^ro,nosuid,nodev,noexec/ { print $5 }' /proc/self/mountinfo"));
        List<String> readOnly = stdout("ro-mounts").lines().toList();
        List<String> expected = onThisHost("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
        assertTrue(expected.contains("/proc/sys"), expected.toString());
        for (String path : expected) {
            assertTrue(readOnly.contains(path), path + " not in " + readOnly);
        }
    }

    @Test
    void runcsMaskedPathsShowNothing() throws Exception {
        List<String> present = onThisHost("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware", "/sys/devices/virtual/powercap");
        // a file and a directory that show something on any host unless masked
        assertTrue(present.contains("/proc/timer_list") && present.contains("/sys/firmware"), present.toString());
        List<String> out = runOver("masked", "for f; do if [ -d $f ]; then n=$(ls -A $f | wc -l);"
                + " else n=$(wc -c < $f); fi; echo $f $((n)); done", present);
        assertEquals(present.stream().map(p -> p + " 0").toList(), out, stderr("masked"));
    }

    @Test
    void aRootTaskHoldsPodmansDefaultCapabilities() throws Exception {
        run(config("caps", "grep -E '^Cap(Eff|Bnd)' /proc/self/status"));
        assertEquals("CapEff:\t" + DEFAULT_CAPS + "\nCapBnd:\t" + DEFAULT_CAPS + "\n", stdout("caps"));
    }

    @Test
    void aCapabilityTheConfigAddsIsHeld() throws Exception {
        run(config("net-raw", "grep ^CapEff /proc/self/status")
                .setCapabilities(Capabilities.newBuilder().addAdd("CAP_NET_RAW")));
        // CAP_NET_RAW is bit 13
        assertEquals("CapEff:\t00000000800425fb\n", stdout("net-raw"));
    }

    @Test
    void aBlockDeviceCanNeitherBeMadeNorOpened() throws Exception {
        // A host block device's node in the image (loop0, 7:0), as a hostile image could ship one.
        Path node = rootfs.resolve("loop-node");
        Files.deleteIfExists(node);
        assertEquals(0, new ProcessBuilder("mknod", node.toString(), "b", "7", "0").inheritIO().start().waitFor());
        try {
            Termination t = run(config("block", "mknod /tmp/b b 7 0 && echo made; head -c 1 /loop-node >/dev/null"
                    + " && echo opened; exit 0"));
            assertEquals(0, t.getExitCode());
            assertEquals("", stdout("block"), stderr("block"));
            // EPERM twice: no CAP_MKNOD, and the devices cgroup refuses the open (a nodev mount would say EACCES)
            assertEquals(2, stderr("block").split("Operation not permitted", -1).length - 1, stderr("block"));
        } finally {
            Files.deleteIfExists(node);
        }
    }

    @Test
    void theDefaultPidsLimitIs2048() throws Exception {
        containerizer.launch(config("pids", "sleep 1000").build());
        try {
            // read back from the container's pids.max
            assertEquals(PidsIsolator.DEFAULT_MAX, containerizer.usage("pids").getPidsLimit());
            assertEquals(2048, PidsIsolator.DEFAULT_MAX);
        } finally {
            containerizer.destroy("pids");
        }
    }
}
