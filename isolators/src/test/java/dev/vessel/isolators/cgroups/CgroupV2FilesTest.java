package dev.vessel.isolators.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.isolation.IsolatorChain;
import dev.vessel.core.isolation.IsolatorGraph;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.linux.CgroupHierarchies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cgroup v2 code paths. This host mounts its controllers on v1 (a v2 mount holds only hugetlb),
 * so a pure-v2 host is stood in for by a directory tree with v2's file names, found through a
 * mountinfo of our own; the test checks what the isolators write and how they read v2's formats.
 */
class CgroupV2FilesTest {
    @TempDir
    Path tmp;

    @Test
    void onAPureV2HostLimitsAndStatisticsUseV2Files() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("cgroup2"));
        IsolatorChain chain = v2Chain(root);
        ContainerContext ctx = context("web", Resources.newBuilder().setMemoryBytes(64L << 20).setCpus(0.5).setPids(32)
                .setCpusetCpus("0-1").setCpusetMems("0").build());

        chain.prepare(i -> ctx, Map.of());

        Path dir = root.resolve("vessel/web");
        assertTrue(Files.isDirectory(dir), "one unified cgroup per container");
        assertEquals("+cpu +cpuset +memory +pids", Files.readString(root.resolve("cgroup.subtree_control")),
                "every controller enabled for the parent's children in one write (the last write wins in a plain file)");
        assertEquals(Long.toString(64L << 20), Files.readString(dir.resolve("memory.max")));
        assertEquals("50000 100000", Files.readString(dir.resolve("cpu.max")));
        assertEquals("20", Files.readString(dir.resolve("cpu.weight")), "512 shares map to weight 20, as runc maps them");
        assertEquals("32", Files.readString(dir.resolve("pids.max")));
        assertEquals("0-1", Files.readString(dir.resolve("cpuset.cpus")));
        assertEquals("0", Files.readString(dir.resolve("cpuset.mems")));

        Files.writeString(dir.resolve("memory.current"), "1048576\n");
        Files.writeString(dir.resolve("memory.peak"), "2097152\n");
        Files.writeString(dir.resolve("pids.current"), "3\n");
        Files.writeString(dir.resolve("cpu.stat"), """
                usage_usec 1500000
                user_usec 1000000
                system_usec 500000
                nr_periods 40
                nr_throttled 12
                throttled_usec 250000
                """);
        ResourceStatistics stats = chain.usage(i -> ctx);
        assertEquals(1048576, stats.getMemoryUsageBytes());
        assertEquals(2097152, stats.getMemoryPeakBytes());
        assertEquals(64L << 20, stats.getMemoryLimitBytes());
        assertEquals(1.0, stats.getCpuUserSeconds());
        assertEquals(0.5, stats.getCpuSystemSeconds());
        assertEquals(12, stats.getCpuThrottledPeriods());
        assertEquals(0.25, stats.getCpuThrottledSeconds());
        assertEquals(3, stats.getPidsCurrent());
        assertEquals(32, stats.getPidsLimit());

        chain.update(i -> ctx, Resources.newBuilder().setCpus(2).build());
        assertEquals("max", Files.readString(dir.resolve("memory.max")), "0 means no limit");
        assertEquals("200000 100000", Files.readString(dir.resolve("cpu.max")));
        assertEquals("2048", Files.readString(dir.resolve("pids.max")), "0 means the default");
        assertEquals("", Files.readString(dir.resolve("cpuset.cpus")), "none: v2's empty list, the parent's CPUs");
    }

    /** Only a container with huge page limits is placed with hugetlb: enabled for it, its limits in v2's files. */
    @Test
    void hugePageLimitsBringTheHugetlbControllerAlong() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("cgroup2"));
        IsolatorChain chain = v2Chain(root);
        ContainerContext plain = context("plain", Resources.getDefaultInstance());
        chain.prepare(i -> plain, Map.of());
        assertEquals("+cpu +cpuset +memory +pids", Files.readString(root.resolve("vessel/cgroup.subtree_control")));

        ContainerContext huge = context("huge", Resources.newBuilder().putHugepageLimits("2MB", 4L << 20)
                .putHugepageLimits("1GB", 0).build());
        chain.prepare(i -> huge, Map.of());
        Path dir = root.resolve("vessel/huge");
        assertEquals("+cpu +cpuset +hugetlb +memory +pids",
                Files.readString(root.resolve("vessel/cgroup.subtree_control")));
        assertEquals(Long.toString(4L << 20), Files.readString(dir.resolve("hugetlb.2MB.max")));
        assertEquals("0", Files.readString(dir.resolve("hugetlb.1GB.max")));

        chain.update(i -> huge, Resources.newBuilder().putHugepageLimits("2MB", 0).putHugepageLimits("1GB", 0).build());
        assertEquals("0", Files.readString(dir.resolve("hugetlb.2MB.max")));
    }

    /**
     * A task without limits on v2: the new cgroup's own defaults (no memory limit, swap allowed as the kernel
     * sets it, no CPU quota) are not written again, the weight and the default pids limit are.
     */
    @Test
    void noLimitsWriteNothingANewV2CgroupAlreadyHas() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("cgroup2"));
        IsolatorChain chain = v2Chain(root);
        ContainerContext ctx = context("plain", Resources.getDefaultInstance());

        chain.prepare(i -> ctx, Map.of());

        Path dir = root.resolve("vessel/plain");
        assertFalse(Files.exists(dir.resolve("memory.max")), "memory.max written though a new cgroup has none");
        assertFalse(Files.exists(dir.resolve("memory.swap.max")));
        assertFalse(Files.exists(dir.resolve("cpu.max")), "cpu.max written though a new cgroup has no quota");
        assertEquals("39", Files.readString(dir.resolve("cpu.weight")), "1024 shares, as runc maps them");
        assertEquals("2048", Files.readString(dir.resolve("pids.max")), "the default pids limit");
        assertFalse(Files.exists(dir.resolve("cpuset.cpus")), "no cpuset: a new v2 cgroup inherits its parent's");

        chain.update(i -> ctx, Resources.getDefaultInstance());
        assertEquals("max", Files.readString(dir.resolve("memory.max")), "an update undoes a limit set before");
        assertEquals("max 100000", Files.readString(dir.resolve("cpu.max")), "an update undoes a quota set before");
    }

    /**
     * The cgroups isolator and its memory, cpu, pids and cpuset controllers over a pure v2 hierarchy faked at
     * {@code root}.
     */
    private IsolatorChain v2Chain(Path root) throws Exception {
        Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory hugetlb pids\n");
        Files.writeString(root.resolve("cgroup.subtree_control"), "");
        Path mountinfo = tmp.resolve("mountinfo");
        Files.writeString(mountinfo, "30 23 0:26 / " + root + " rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
        CgroupHierarchies hierarchies = CgroupHierarchies.detect(mountinfo);
        assertEquals("v2", hierarchies.mode());
        CgroupsIsolator cgroups = new CgroupsIsolator(hierarchies, "vessel");
        return new IsolatorChain(IsolatorGraph.build(List.of(cgroups, new MemoryIsolator(cgroups),
                new CpuIsolator(cgroups), new PidsIsolator(cgroups), new CpusetIsolator(cgroups),
                new HugetlbIsolator(cgroups)),
                Set.of(ContainerKeys.ROOTFS, ContainerKeys.SANDBOX), ContainerKeys.PROVIDER));
    }

    private ContainerContext context(String id, Resources resources) {
        return TestContainers.context(tmp, id, resources);
    }
}
