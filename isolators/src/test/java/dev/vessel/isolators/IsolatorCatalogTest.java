package dev.vessel.isolators;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.gpu.GpuInventory;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.vm.VmSizing;
import dev.vessel.isolators.IsolatorCatalog.Entry;
import dev.vessel.isolators.IsolatorCatalog.Placement;
import dev.vessel.isolators.cgroups.AllowedDevices;
import dev.vessel.isolators.cgroups.CgroupKeys;
import dev.vessel.isolators.gpu.NvidiaDriverFiles;
import dev.vessel.isolators.network.PluginRunner;
import dev.vessel.isolators.testing.DirectPrepareContext;
import dev.vessel.isolators.volume.DockerVolumeIsolator;
import dev.vessel.linux.CgroupHierarchies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IsolatorCatalogTest {
    /** What GuestNode built by hand before the catalog, with every controller a guest has, and linux/seccomp since. */
    private static final List<String> GUEST_CHAIN_BEFORE = List.of("cgroups", "cgroups/memory", "cgroups/cpu",
            "cgroups/pids", "namespaces", "filesystem/linux", "linux/capabilities", "linux/seccomp", "posix/rlimits");
    /**
     * What NodeWiring built by hand before the catalog, on a host with every controller; then namespaces/user,
     * linux/seccomp, gpu/nvidia, vm/gpu, cgroups/cpuset and cgroups/hugetlb.
     */
    private static final List<String> HOST_CHAIN_BEFORE = List.of("cgroups", "cgroups/memory", "cgroups/cpu",
            "cgroups/pids", "cgroups/cpuset", "cgroups/hugetlb", "cgroups/devices", "namespaces", "namespaces/user",
            "filesystem/linux", "linux/capabilities", "linux/seccomp", "posix/rlimits", "volume/docker", "gpu/nvidia",
            "disk/du", "network/cni", "vm/resources", "vm/rootfs", "vm/network", "vm/gpu");

    @TempDir
    Path dir;

    @Test
    void namesAreUniqueAndEqualTheBuiltIsolatorsNames() throws Exception {
        List<String> names = IsolatorCatalog.entries().stream().map(Entry::name).toList();
        assertEquals(names.size(), new HashSet<>(names).size(), names::toString);
        List<Isolator> all = IsolatorCatalog.build(hostContext("cpu cpuset hugetlb memory pids"),
                EnumSet.allOf(Placement.class));
        assertEquals(names, all.stream().map(Isolator::name).toList());
    }

    @Test
    void placementsAgreeWithWhatEachIsolatorAppliesTo() throws Exception {
        List<Isolator> all = IsolatorCatalog.build(hostContext("cpu cpuset hugetlb memory pids"),
                EnumSet.allOf(Placement.class));
        for (int i = 0; i < all.size(); i++) {
            Entry entry = IsolatorCatalog.entries().get(i);
            Isolator isolator = all.get(i);
            assertEquals(entry.placements().contains(Placement.PROCESS_HOST), isolator.appliesTo(Isolation.PROCESS),
                    entry.name());
            assertEquals(entry.placements().contains(Placement.VM_HOST), isolator.appliesTo(Isolation.VM),
                    entry.name());
            if (entry.placements().contains(Placement.GUEST)) {
                assertTrue(isolator.appliesTo(Isolation.PROCESS), entry.name() + ": a guest runs process containers");
            }
        }
    }

    @Test
    void anEntryPlacedAgainstItsIsolatorIsRefused() throws Exception {
        Entry wrong = new Entry("vm/rootfs", EnumSet.of(Placement.PROCESS_HOST), (c, s) -> null);
        Isolator vmOnly = IsolatorCatalog.entries().stream().filter(e -> e.name().equals("vm/rootfs")).findFirst()
                .orElseThrow().factory().build(hostContext("cpu memory pids"), null);
        assertThrows(IllegalStateException.class, () -> IsolatorCatalog.checkPlacements(wrong, vmOnly));
    }

    @Test
    void theHostChainIsWhatTheNodeBuiltBefore() throws Exception {
        assertEquals(HOST_CHAIN_BEFORE, IsolatorCatalog.names(IsolatorCatalog.HOST));
        assertEquals(HOST_CHAIN_BEFORE, IsolatorCatalog.build(hostContext("cpu cpuset hugetlb memory pids"),
                        IsolatorCatalog.HOST)
                .stream().map(Isolator::name).toList());
    }

    @Test
    void theGuestChainIsWhatTheGuestBuiltBefore() throws Exception {
        Set<Placement> guest = EnumSet.of(Placement.GUEST);
        assertEquals(GUEST_CHAIN_BEFORE, IsolatorCatalog.names(guest));
        List<Isolator> chain = IsolatorCatalog.build(guestContext("cpu memory pids"), guest);
        assertEquals(GUEST_CHAIN_BEFORE, chain.stream().map(Isolator::name).toList());
        Isolator filesystem = chain.get(GUEST_CHAIN_BEFORE.indexOf("filesystem/linux"));
        assertEquals(Set.of(ContainerKeys.ROOTFS, ContainerKeys.SANDBOX), filesystem.requires(), "a guest's filesystem takes no Docker volume");

        // a controller the guest lacks is left out, as GuestNode did
        assertEquals(List.of("cgroups", "cgroups/memory", "cgroups/cpu", "namespaces", "filesystem/linux",
                "linux/capabilities", "linux/seccomp", "posix/rlimits"),
                IsolatorCatalog.build(guestContext("cpu memory"), guest).stream().map(Isolator::name).toList());
        // no hierarchy at all: no cgroups isolator either
        IsolatorContext none = IsolatorContext.of(paths(), CgroupHierarchies.detect(Files.writeString(
                dir.resolve("empty-mountinfo"), "")), "vessel");
        assertEquals(List.of("namespaces", "filesystem/linux", "linux/capabilities", "linux/seccomp", "posix/rlimits"),
                IsolatorCatalog.build(none, guest).stream().map(Isolator::name).toList());
    }

    @Test
    void anUnknownNameIsRefusedNamingItAndTheKnownOnes() throws Exception {
        VesselException e = assertThrows(VesselException.class, () -> IsolatorCatalog.build(
                hostContext("cpu memory pids"), IsolatorCatalog.HOST, List.of("cgroups", "cgroups/blkio")));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals("isolation", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("'cgroups/blkio'"), e.getMessage());
        assertTrue(e.getMessage().contains("vm/network"), e.getMessage());
    }

    @Test
    void namedIsolatorsAreBuiltInChainOrder() throws Exception {
        List<Isolator> chain = IsolatorCatalog.build(hostContext("cpu memory pids"), IsolatorCatalog.HOST,
                List.of("posix/rlimits", "cgroups/memory", "cgroups"));
        assertEquals(List.of("cgroups", "cgroups/memory", "posix/rlimits"), chain.stream().map(Isolator::name).toList());
        assertTrue(chain.get(1).requires().stream().allMatch(k -> chain.get(0).provides().contains(k)),
                "the controller shares the chain's cgroups isolator's key");
    }

    @Test
    void aNameWhoseNeedIsNotNamedIsRefusedNamingBoth() throws Exception {
        VesselException e = assertThrows(VesselException.class, () -> IsolatorCatalog.build(
                hostContext("cpu memory pids"), IsolatorCatalog.HOST, List.of("cgroups/memory")));
        assertEquals("isolation", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("'cgroups/memory' needs 'cgroups'"), e.getMessage());

        VesselException volumes = assertThrows(VesselException.class, () -> IsolatorCatalog.build(
                hostContext("cpu memory pids"), IsolatorCatalog.HOST, List.of("filesystem/linux")));
        assertTrue(volumes.getMessage().contains("'filesystem/linux' needs 'volume/docker'"), volumes.getMessage());
    }

    @Test
    void aNamedIsolatorThisHostCannotRunIsAnErrorWhereTheDefaultLeavesItOut() throws Exception {
        IsolatorContext noPids = hostContext("cpu memory");
        VesselException e = assertThrows(VesselException.class, () -> IsolatorCatalog.build(noPids,
                IsolatorCatalog.HOST, List.of("cgroups", "cgroups/pids")));
        assertEquals(ErrorCode.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("'cgroups/pids'"), e.getMessage());
        assertTrue(IsolatorCatalog.build(noPids, IsolatorCatalog.HOST).stream()
                .noneMatch(i -> i.name().equals("cgroups/pids")));
    }

    @Test
    void theCatalogsVmResourcesSizesByTheContextsSizing() throws Exception {
        Isolator resources = IsolatorCatalog.build(hostContext("cpu memory pids"), IsolatorCatalog.HOST,
                List.of("vm/resources")).getFirst();
        LaunchInfo info = resources.prepare(vmTaskContext());
        assertEquals(VmSizing.DEFAULT_MEMORY_BYTES, info.getVm().getMemoryBytes());
    }

    private RuntimePaths paths() {
        return new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
    }

    /** A guest's context: a cgroup2 hierarchy with {@code controllers}, nothing host-only. */
    private IsolatorContext guestContext(String controllers) throws Exception {
        return IsolatorContext.of(paths(), hierarchies(controllers), "vessel");
    }

    /** A host's context: every part a node configures. */
    private IsolatorContext hostContext(String controllers) throws Exception {
        Path cni = Files.createDirectories(dir.resolve("cni"));
        return guestContext(controllers)
                .withCni(new IsolatorContext.Cni(cni, List.of(cni), PluginRunner.DIRECT))
                .withDockerVolumes(new IsolatorContext.DockerVolumes(dir.resolve("plugins"),
                        DockerVolumeIsolator.DEFAULT_TIMEOUT))
                .withVms(new IsolatorContext.Vms(new VmSizing(VmSizing.DEFAULT_MIN_MEMORY_BYTES,
                        dir.resolve("vmlinux"), dir.resolve("initramfs.cpio")), id -> Optional.empty(),
                new dev.vessel.core.vm.QemuUser("libvirt-qemu", 64055, 108)))
                .withGpus(new IsolatorContext.Gpus(new GpuAllocator(GpuInventory.NONE, paths()),
                        NvidiaDriverFiles.host()));
    }

    @Test
    void withTheNodesGpusTheDevicesIsolatorTakesWhatGpuNvidiaAllowsAndNeedsIt() throws Exception {
        Isolator devices = IsolatorCatalog.build(hostContext("cpu memory pids"), IsolatorCatalog.HOST,
                List.of("cgroups", "cgroups/devices", "gpu/nvidia")).get(1);
        assertTrue(devices.requires().contains(AllowedDevices.KEY), devices.requires().toString());
        assertEquals(Set.of(CgroupKeys.CGROUPS), IsolatorCatalog.build(guestContext("cpu memory pids").withCni(
                new IsolatorContext.Cni(dir, List.of(dir), PluginRunner.DIRECT)), EnumSet.of(Placement.PROCESS_HOST),
                List.of("cgroups", "cgroups/devices")).get(1).requires(), "a node without GPUs");

        VesselException refused = assertThrows(VesselException.class, () -> IsolatorCatalog.build(
                hostContext("cpu memory pids"), IsolatorCatalog.HOST, List.of("cgroups", "cgroups/devices")));
        assertTrue(refused.getMessage().contains("'cgroups/devices' needs 'gpu/nvidia'"), refused.getMessage());
    }

    /** A mountinfo naming a cgroup2 hierarchy (a plain directory here) with {@code controllers}. */
    private CgroupHierarchies hierarchies(String controllers) throws Exception {
        Path root = Files.createDirectories(dir.resolve("cgroup-" + controllers.replace(' ', '-')));
        Files.writeString(root.resolve("cgroup.controllers"), controllers + "\n");
        Path mountinfo = Files.writeString(dir.resolve("mountinfo-" + controllers.replace(' ', '-')),
                "30 1 0:26 / " + root + " rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n");
        return CgroupHierarchies.detect(mountinfo);
    }

    /** A VM task with no resources, as vm/resources prepares it. */
    private static DirectPrepareContext vmTaskContext() {
        ContainerConfig config = ContainerConfig.newBuilder().setId("sized").setIsolation(Isolation.VM).build();
        return new DirectPrepareContext(config, Path.of("/nonexistent"), Path.of("/nonexistent/x.ckpt"));
    }
}
