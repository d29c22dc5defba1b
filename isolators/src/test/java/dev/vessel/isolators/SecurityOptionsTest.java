package dev.vessel.isolators;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.model.Volume;
import dev.vessel.isolators.testing.ProcessNode;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a config may ask for beyond the defaults, checked from inside real containers of the default process
 * chain: a read-only rootfs and its writable tmpfs, tmpfs options, capabilities added and dropped, no pids
 * limit, and a device node a container may make but not open.
 */
class SecurityOptionsTest {
    @TempDir
    static Path tmp;

    static final String PARENT = ProcessNode.uniqueCgroupParent("vessel-secopts-");
    static final CgroupHierarchies HIERARCHIES = CgroupHierarchies.detect();
    static ProcessNode node;

    @BeforeAll
    static void startNode() throws Exception {
        node = ProcessNode.startWithDefaultIsolators(tmp, "security options", HIERARCHIES, PARENT);
    }

    @AfterAll
    static void stopNode() throws Exception {
        ProcessNode.stop(node, HIERARCHIES, PARENT);
    }

    @Test
    void aReadOnlyRootfsCannotBeWrittenButRunTmpVarTmpAndDevShmCan() throws Exception {
        Files.deleteIfExists(node.rootfs().resolve("written"));
        Termination t = node.runToExit(node.shellConfig("ro-root", String.join("; ",
                "true >> /written || echo root is read-only",
                "for d in /run /tmp /var/tmp /dev/shm; do echo x > $d/file && echo $d writable; done",
                // mountinfo: "id parent dev root mount-point options - fstype source super-options"
                "awk '$5 == \"/\" { print $6 }' /proc/self/mountinfo",
                "awk '$5 == \"/tmp\" || $5 == \"/run\" || $5 == \"/var/tmp\" { print $5, $6, $9 }' /proc/self/mountinfo",
                "stat -c '%n %a' /run /tmp /var/tmp"))
                .setReadOnlyRootfs(true));
        assertEquals(0, t.getExitCode());
        List<String> out = node.stdout("ro-root").lines().toList();
        assertEquals(List.of("root is read-only", "/run writable", "/tmp writable", "/var/tmp writable",
                "/dev/shm writable"), out.subList(0, 5), node.stderr("ro-root"));
        assertTrue(out.get(5).startsWith("ro,"), "the root mount's options: " + out.get(5));
        assertEquals(List.of("/run rw,nosuid,nodev,relatime tmpfs", "/tmp rw,nosuid,nodev,relatime tmpfs",
                "/var/tmp rw,nosuid,nodev,relatime tmpfs", "/run 755", "/tmp 1777", "/var/tmp 1777"), out.subList(6, 12),
                node.stdout("ro-root"));
        assertTrue(node.stderr("ro-root").contains("Read-only file system"), node.stderr("ro-root"));
        assertFalse(Files.exists(node.rootfs().resolve("written")));
        assertFalse(Files.exists(node.rootfs().resolve("tmp/file")), "the container's /tmp is its own tmpfs");
    }

    @Test
    void aVolumeAtTmpReplacesTheReadOnlyRootfsTmpfsAndTmpfsOptionsAreHonoured() throws Exception {
        Termination t = node.runToExit(node.shellConfig("ro-tmpfs", String.join("; ",
                // the super options come third after the "-" that ends the optional fields
                "awk '$5 == \"/tmp\" { for (i = 7; $i != \"-\"; i++) ; print $6, $(i + 3) }' /proc/self/mountinfo",
                "stat -c '%a' /tmp",
                "cp /bin/busybox /tmp/bb && /tmp/bb true && echo executed; exit 0"))
                .setReadOnlyRootfs(true)
                .addVolumes(Volume.newBuilder().setTarget("/tmp")
                        .setTmpfs(TmpfsVolume.newBuilder().setSizeBytes(8 << 20).setMode(0700).setNoexec(true))));
        assertEquals(0, t.getExitCode());
        List<String> out = node.stdout("ro-tmpfs").lines().toList();
        assertEquals(List.of("rw,nosuid,nodev,noexec,relatime rw,size=8192k,mode=700", "700"), out,
                "one mount at /tmp, the volume's: " + node.stderr("ro-tmpfs"));
        assertTrue(node.stderr("ro-tmpfs").contains("Permission denied"), "noexec: " + node.stderr("ro-tmpfs"));
    }

    @Test
    void capabilitiesDroppedAllThenOneAddedLeaveExactlyThatOne() throws Exception {
        node.runToExit(node.shellConfig("caps-kill", "grep -E '^Cap(Eff|Bnd)' /proc/self/status")
                .setCapabilities(Capabilities.newBuilder().addDrop("all").addAdd("kill")));
        // CAP_KILL is bit 5
        assertEquals("CapEff:\t0000000000000020\nCapBnd:\t0000000000000020\n", node.stdout("caps-kill"));
    }

    /**
     * CAP_MKNOD lets the container make a block device node (on its rootfs, which is not nodev here: the
     * test's directory), but the devices cgroup still refuses opening it; the allowed /dev/null opens.
     */
    @Test
    void withMknodAContainerMakesADiskNodeButTheDevicesCgroupRefusesOpeningIt() throws Exception {
        Path deviceNode = node.rootfs().resolve("sda-made");
        Files.deleteIfExists(deviceNode);
        try {
            Termination t = node.runToExit(node.shellConfig("mknod",
                    "mknod /sda-made b 8 0 && echo made; head -c 1 /sda-made >/dev/null"
                    + " && echo opened; echo x > /dev/null && head -c 1 /dev/zero | wc -c")
                    .setCapabilities(Capabilities.newBuilder().addAdd("MKNOD")));
            assertEquals(0, t.getExitCode());
            assertEquals("made\n1\n", node.stdout("mknod"), node.stderr("mknod"));
            assertTrue(node.stderr("mknod").contains("/sda-made: Operation not permitted"), node.stderr("mknod"));
            assertTrue(Files.exists(deviceNode), "the node was made");
        } finally {
            Files.deleteIfExists(deviceNode);
        }
    }

    @Test
    void pidsMinusOneLeavesTheContainerWithoutALimitOfItsOwn() throws Exception {
        CgroupHierarchy pids = HIERARCHIES.forController("pids").orElseThrow(
                () -> new AssertionError("this host mounts no pids controller"));
        node.containerizer().launch(node.shellConfig("no-pids-limit", "exec sleep 1000")
                .setResources(Resources.newBuilder().setPids(-1)).build());
        try {
            assertEquals("max", Files.readString(pids.mountPoint().resolve(PARENT).resolve("no-pids-limit")
                    .resolve("pids.max")).strip());
        } finally {
            node.containerizer().destroy("no-pids-limit");
        }
    }
}
