package dev.vessel.launcher.vm.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.Resources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The VM partition in the host's real cgroup hierarchies: made complete, removed only where empty. */
class CgroupPartitionTest {
    private static final String NAME = "/vessel-test-partition-" + ProcessHandle.current().pid();

    @TempDir
    Path dir;
    private final CgroupPartition partition = CgroupPartition.of(NAME);

    @BeforeAll
    static void rootAndCgroups() {
        assertEquals("root", System.getProperty("user.name"), "these tests create cgroups: run them as root");
        assertFalse(CgroupPartition.of(NAME).directories().isEmpty(), "these tests need mounted cgroup hierarchies");
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Path partitionDir : partition.directories()) {
            Files.deleteIfExists(partitionDir.resolve("child"));
            Files.deleteIfExists(partitionDir);
        }
    }

    @Test
    void ensureMakesThePartitionInEveryHierarchyWithCpusetReady() throws Exception {
        partition.ensure();
        partition.ensure(); // again: nothing changes
        for (Path partitionDir : partition.directories()) {
            assertTrue(Files.isDirectory(partitionDir), partitionDir + " missing");
            assertTrue(partitionDir.getFileName().toString().endsWith(".partition"), "libvirt's name: " + partitionDir);
            Path cpus = partitionDir.resolve("cpuset.cpus");
            if (Files.exists(cpus) && !Files.exists(partitionDir.resolve("cgroup.controllers"))) {
                // v1 cpuset: a QEMU can only join a cgroup that has CPUs and memory nodes
                for (String file : List.of("cpuset.cpus", "cpuset.mems")) {
                    assertEquals(Files.readString(partitionDir.getParent().resolve(file)).strip(),
                            Files.readString(partitionDir.resolve(file)).strip(), file);
                }
            }
        }
        assertEquals(List.of(), partition.removeIfEmpty());
        for (Path partitionDir : partition.directories()) {
            assertFalse(Files.exists(partitionDir), partitionDir + " left behind");
        }
    }

    @Test
    void aPartitionStillHoldingACgroupStaysThereAndItsNeighboursAreUntouched() throws Exception {
        partition.ensure();
        Path busy = partition.directories().getFirst();
        Files.createDirectory(busy.resolve("child"));
        Path neighbour = Files.createDirectory(busy.getParent().resolve("vessel-test-neighbour-" + ProcessHandle.current().pid()));
        try {
            assertEquals(List.of(busy), partition.removeIfEmpty());
            assertTrue(Files.isDirectory(busy.resolve("child")));
            assertTrue(Files.isDirectory(neighbour), "a cgroup not ours was removed");
            for (Path other : partition.directories().subList(1, partition.directories().size())) {
                assertFalse(Files.exists(other), other + " is empty and should be gone");
            }
        } finally {
            Files.delete(neighbour);
        }
    }

    @Test
    void hierarchiesAreReadFromMountinfo() throws Exception {
        Path mountinfo = Files.writeString(dir.resolve("mountinfo"), """
                30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
                31 30 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
                32 30 0:28 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset
                33 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
                34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
                35 25 0:27 /docker/abc /mnt/cpu-of-a-container rw - cgroup cgroup rw,cpu
                """);
        assertEquals(List.of(Path.of("/sys/fs/cgroup/cpu/vms.partition"), Path.of("/sys/fs/cgroup/cpuset/vms.partition"),
                Path.of("/sys/fs/cgroup/unified/vms.partition")), CgroupPartition.of("/vms", mountinfo).directories());
    }

    @Test
    void aDomainsCpuWeightIsV1SharesWhereCpuIsAV1ControllerElseTheV2WeightRuncMapsThemTo() throws Exception {
        Resources none = Resources.getDefaultInstance();
        Resources half = Resources.newBuilder().setCpus(0.5).build();
        Resources shares = Resources.newBuilder().setCpus(0.5).setCpuShares(262_144).build();
        Path hybrid = Files.writeString(dir.resolve("hybrid"), """
                31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
                34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
                """);
        CgroupPartition v1 = CgroupPartition.of("/vms", hybrid);
        assertEquals(List.of(1024L, 512L, 262_144L), List.of(v1.cpuWeight(none), v1.cpuWeight(half),
                v1.cpuWeight(shares)));
        Path unified = Files.writeString(dir.resolve("unified"), """
                30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate
                32 30 0:28 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset
                """);
        CgroupPartition v2 = CgroupPartition.of("/vms", unified);
        // libvirt writes the value to cpu.weight as it is: [1, 10000], where v1's default 1024 is 39
        assertEquals(List.of(39L, 20L, 10_000L), List.of(v2.cpuWeight(none), v2.cpuWeight(half),
                v2.cpuWeight(shares)));
    }

    @Test
    void onlyOneAbsoluteLevelIsAccepted() {
        for (String bad : List.of("", "vms", "/", "/a/b", "/a.b", "/../x", "/-x")) {
            assertThrows(IllegalArgumentException.class, () -> CgroupPartition.of(bad), bad);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dev.vessel.launcher.vm.VmLauncherConfig.defaults(new dev.vessel.core.paths.RuntimePaths(dir.resolve("s"), dir.resolve("r")))
                        .withCgroupPartition("/a/b"));
        assertTrue(e.getMessage().contains("cgroupPartition") && e.getMessage().contains("/a/b"), e.getMessage());
    }
}
