package dev.vessel.isolators;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.Termination;
import dev.vessel.isolators.cgroups.PidsIsolator;
import dev.vessel.isolators.testing.ProcessNode;
import dev.vessel.linux.CgroupHierarchies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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

    static final String PARENT = ProcessNode.uniqueCgroupParent("vessel-confine-");
    static final CgroupHierarchies HIERARCHIES = CgroupHierarchies.detect();
    static ProcessNode node;

    @BeforeAll
    static void startNode() throws Exception {
        node = ProcessNode.startWithDefaultIsolators(tmp, "confinement", HIERARCHIES, PARENT);
    }

    @AfterAll
    static void stopNode() throws Exception {
        ProcessNode.stop(node, HIERARCHIES, PARENT);
    }

    /** Of {@code paths}, those this host has (a small VM kernel may lack /proc/kcore or sysrq). */
    static List<String> onThisHost(String... paths) {
        return Stream.of(paths).filter(p -> Files.exists(Path.of(p))).toList();
    }

    /** Runs {@code script} with {@code paths} as its arguments and returns its stdout's lines. */
    static List<String> runOver(String id, String script, List<String> paths) throws Exception {
        node.runToExit(node.shellConfig(id, script).addArgs(id).addAllArgs(paths));
        return node.stdout(id).lines().toList();
    }

    @Test
    void procSysAndSysrqTriggerCannotBeOpenedForWriting() throws Exception {
        List<String> files = onThisHost("/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger");
        assertTrue(files.contains("/proc/sys/kernel/core_pattern"), files.toString());
        List<String> out = runOver("proc-ro", "for f; do true >> $f && echo $f writable; done;"
                + " cat /proc/sys/kernel/ostype", files);
        assertEquals(List.of("Linux"), out, "only reading works: " + node.stderr("proc-ro"));
        assertEquals(files.size(), node.stderr("proc-ro").split("Read-only file system", -1).length - 1,
                node.stderr("proc-ro"));
    }

    @Test
    void runcsReadOnlyPathsAreReadOnlyMounts() throws Exception {
        // mountinfo: "id parent dev root mount-point options ..."
        node.runToExit(node.shellConfig("ro-mounts",
                "awk '$6 ~ /^ro,nosuid,nodev,noexec/ { print $5 }' /proc/self/mountinfo"));
        List<String> readOnly = node.stdout("ro-mounts").lines().toList();
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
        assertEquals(present.stream().map(p -> p + " 0").toList(), out, node.stderr("masked"));
    }

    @Test
    void aRootTaskHoldsPodmansDefaultCapabilities() throws Exception {
        node.runToExit(node.shellConfig("caps", "grep -E '^Cap(Eff|Bnd)' /proc/self/status"));
        assertEquals("CapEff:\t" + DEFAULT_CAPS + "\nCapBnd:\t" + DEFAULT_CAPS + "\n", node.stdout("caps"));
    }

    @Test
    void aCapabilityTheConfigAddsIsHeld() throws Exception {
        node.runToExit(node.shellConfig("net-raw", "grep ^CapEff /proc/self/status")
                .setCapabilities(Capabilities.newBuilder().addAdd("CAP_NET_RAW")));
        // CAP_NET_RAW is bit 13
        assertEquals("CapEff:\t00000000800425fb\n", node.stdout("net-raw"));
    }

    @Test
    void aBlockDeviceCanNeitherBeMadeNorOpened() throws Exception {
        // A host block device's node in the image (loop0, 7:0), as a hostile image could ship one.
        Path deviceNode = node.rootfs().resolve("loop-node");
        Files.deleteIfExists(deviceNode);
        assertEquals(0, new ProcessBuilder("mknod", deviceNode.toString(), "b", "7", "0").inheritIO().start()
                .waitFor());
        try {
            Termination t = node.runToExit(node.shellConfig("block",
                    "mknod /tmp/b b 7 0 && echo made; head -c 1 /loop-node >/dev/null && echo opened; exit 0"));
            assertEquals(0, t.getExitCode());
            assertEquals("", node.stdout("block"), node.stderr("block"));
            // EPERM twice: no CAP_MKNOD, and the devices cgroup refuses the open (a nodev mount would say EACCES)
            assertEquals(2, node.stderr("block").split("Operation not permitted", -1).length - 1, node.stderr("block"));
        } finally {
            Files.deleteIfExists(deviceNode);
        }
    }

    @Test
    void theDefaultPidsLimitIs2048() throws Exception {
        node.containerizer().launch(node.shellConfig("pids", "sleep 1000").build());
        try {
            // read back from the container's pids.max
            assertEquals(PidsIsolator.DEFAULT_MAX, node.containerizer().usage("pids").getPidsLimit());
            assertEquals(2048, PidsIsolator.DEFAULT_MAX);
        } finally {
            node.containerizer().destroy("pids");
        }
    }
}
