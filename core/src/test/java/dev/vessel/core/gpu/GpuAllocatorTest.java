package dev.vessel.core.gpu;

import static dev.vessel.core.gpu.FakeGpuHost.AMD;
import static dev.vessel.core.gpu.FakeGpuHost.H100_A;
import static dev.vessel.core.gpu.FakeGpuHost.H100_ALONE;
import static dev.vessel.core.gpu.FakeGpuHost.H100_A_AUDIO;
import static dev.vessel.core.gpu.FakeGpuHost.H200_B;
import static dev.vessel.core.gpu.FakeGpuHost.ISA_BRIDGE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.GpuAllocation;
import dev.vessel.core.model.Resources;
import dev.vessel.core.paths.RuntimePaths;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GpuAllocatorTest {
    @TempDir
    Path tmp;

    private FakeGpuHost host;
    private RuntimePaths paths;
    private GpuAllocator allocator;

    @BeforeEach
    void setUp() throws Exception {
        host = FakeGpuHost.create(tmp.resolve("host"));
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        allocator = new GpuAllocator(host.discovery().discover(), paths);
    }

    @Test
    void aCountTakesFreeNvidiaGpusPreferringOneNumaNode() {
        // NUMA node 0 holds the two H100s, node 1 the H200: two GPUs come from node 0
        assertEquals(List.of(H100_A, H100_ALONE), addresses(allocator.allocate("a", count(2))));
        // the one left is on node 1
        assertEquals(List.of(H200_B), addresses(allocator.allocate("b", count(1))));
        assertEquals(Map.of(new PciAddress(H100_A), "a", new PciAddress(H100_ALONE), "a", new PciAddress(H200_B), "b"),
                allocator.holders());
    }

    @Test
    void addressesTakeExactlyThoseGpus() {
        assertEquals(List.of(H100_ALONE, H200_B), addresses(allocator.allocate("a", at(H200_B, H100_ALONE))));
        assertEquals(List.of(H100_ALONE, H200_B), addresses(allocator.heldBy("a")));
        assertEquals(List.of(), allocator.heldBy("b"));
    }

    @Test
    void askingForNoneTakesNothingAndWritesNothing() throws Exception {
        assertEquals(List.of(), allocator.allocate("a", Resources.getDefaultInstance()));
        assertEquals(List.of(), paths.gpuAllocationHolders());
    }

    @Test
    void aGpuNeverHasTwoHolders() {
        allocator.allocate("a", at(H100_A));

        VesselException taken = assertThrows(VesselException.class, () -> allocator.allocate("b", at(H200_B, H100_A)));
        assertEquals(ErrorCode.FAILED_PRECONDITION, taken.code());
        assertEquals("resources.gpu_addresses[1]", taken.field().orElseThrow());
        assertTrue(taken.getMessage().contains("in use by container 'a'"), taken.getMessage());
        // the refused request took nothing: H200 is still free
        assertEquals(List.of(H200_B), addresses(allocator.allocate("c", at(H200_B))));

        allocator.allocate("d", count(1));
        VesselException allInUse = assertThrows(VesselException.class, () -> allocator.allocate("e", count(1)));
        assertEquals("resources.gpus", allInUse.field().orElseThrow());
        assertTrue(allInUse.getMessage().contains("all 3 are in use"), allInUse.getMessage());
    }

    @Test
    void refusalsNameTheFieldAndSayWhy() {
        VesselException tooMany = assertThrows(VesselException.class, () -> allocator.allocate("a", count(4)));
        assertEquals("resources.gpus", tooMany.field().orElseThrow());
        assertEquals(ErrorCode.INVALID_ARGUMENT, tooMany.code());
        assertTrue(tooMany.getMessage().contains("4 GPUs asked for, but this node has 3 that a process container can use"),
                tooMany.getMessage());
        assertTrue(tooMany.getMessage().contains(AMD + " is not an NVIDIA GPU"), tooMany.getMessage());

        VesselException notAGpu = assertThrows(VesselException.class, () -> allocator.allocate("a", at(ISA_BRIDGE)));
        assertEquals("resources.gpu_addresses[0]", notAGpu.field().orElseThrow());
        assertTrue(notAGpu.getMessage().contains(ISA_BRIDGE + " is not a GPU of this node"), notAGpu.getMessage());

        VesselException audio = assertThrows(VesselException.class, () -> allocator.allocate("a", at(H100_A_AUDIO)));
        assertTrue(audio.getMessage().contains("is not a GPU of this node"), audio.getMessage());

        VesselException badSyntax = assertThrows(VesselException.class, () -> allocator.allocate("a", at("41:00.0")));
        assertEquals("resources.gpu_addresses[0]", badSyntax.field().orElseThrow());
        assertTrue(badSyntax.getMessage().contains("is not a PCI address"), badSyntax.getMessage());

        VesselException amd = assertThrows(VesselException.class, () -> allocator.allocate("a", at(AMD)));
        assertTrue(amd.getMessage().contains("is not an NVIDIA GPU"), amd.getMessage());

        GpuAllocator none = new GpuAllocator(GpuInventory.NONE, paths);
        VesselException noGpus = assertThrows(VesselException.class, () -> none.allocate("a", count(1)));
        assertEquals(ErrorCode.UNAVAILABLE, noGpus.code());
        assertEquals("resources.gpus", noGpus.field().orElseThrow());
        assertTrue(noGpus.getMessage().contains("this node has no GPUs"), noGpus.getMessage());
    }

    @Test
    void aGpuTheNvidiaDriverDoesNotDriveIsNotAProcessContainers() throws Exception {
        host.bindDriver(H100_ALONE, "vfio-pci");
        GpuAllocator rebound = new GpuAllocator(host.discovery().discover(), paths);

        VesselException refused = assertThrows(VesselException.class, () -> rebound.allocate("a", at(H100_ALONE)));
        assertTrue(refused.getMessage().contains("is not driven by the NVIDIA driver (its driver: vfio-pci)"),
                refused.getMessage());
        assertEquals(List.of(H100_A, H200_B), addresses(rebound.allocate("a", count(2))));
    }

    @Test
    void checkRefusesAsAllocateWouldAndTakesNothing() {
        allocator.check(count(3), GpuAllocation.Use.DEVICES);
        assertEquals(Map.of(), allocator.holders());
        allocator.allocate("a", count(3));
        assertThrows(VesselException.class, () -> allocator.check(count(1), GpuAllocation.Use.DEVICES));
    }

    @Test
    void releaseFreesTheGpusAndTheCheckpoint() throws Exception {
        allocator.allocate("a", count(3));
        assertEquals(List.of("a"), paths.gpuAllocationHolders());

        allocator.release("a");
        assertEquals(Map.of(), allocator.holders());
        assertFalse(Files.exists(paths.gpuAllocation("a")));
        assertEquals(3, allocator.allocate("b", count(3)).size());
        allocator.release("nobody"); // idempotent, and for one that holds nothing
    }

    @Test
    void aRestartedAllocatorKeepsTheLiveHoldersGpusAndFreesTheDeadOnes() throws Exception {
        allocator.allocate("live", at(H100_A));
        allocator.allocate("dead", at(H200_B, H100_ALONE));

        // the daemon is killed: a new allocator starts from the checkpoints and the live containers
        GpuAllocator restarted = new GpuAllocator(host.discovery().discover(), paths);
        restarted.recover(GpuAllocation.Use.DEVICES, List.of("live"));

        assertEquals(Map.of(new PciAddress(H100_A), "live"), restarted.holders());
        assertEquals(List.of("live"), paths.gpuAllocationHolders());
        VesselException held = assertThrows(VesselException.class, () -> restarted.allocate("x", at(H100_A)));
        assertTrue(held.getMessage().contains("in use by container 'live'"), held.getMessage());
        assertEquals(List.of(H100_ALONE, H200_B), addresses(restarted.allocate("x", count(2))));
    }

    @Test
    void eachUseRecoversOnlyItsOwnHolders() throws Exception {
        allocator.allocateGroups("vm", at(H100_ALONE));
        allocator.allocate("process", at(H100_A));

        GpuAllocator restarted = new GpuAllocator(host.discovery().discover(), paths);
        restarted.recover(GpuAllocation.Use.DEVICES, List.of()); // the process container is gone
        assertEquals(List.of("vm"), paths.gpuAllocationHolders());
        restarted.recover(GpuAllocation.Use.VFIO, List.of("vm"));
        assertEquals(Map.of(new PciAddress(H100_ALONE), "vm"), restarted.holders());
    }

    @Test
    void aVmTakesWholeIommuGroups() throws Exception {
        List<IommuGroup> groups = allocator.allocateGroups("vm", at(H100_A));

        assertEquals(1, groups.size());
        assertEquals(List.of(new PciAddress(H100_A), new PciAddress(H100_A_AUDIO)), groups.getFirst().addresses());
        GpuAllocation saved = dev.vessel.core.checkpoint.CheckpointFile.read(paths.gpuAllocation("vm"),
                GpuAllocator.CODEC).orElseThrow();
        assertEquals(GpuAllocation.Use.VFIO, saved.getUse());
        assertEquals(List.of(H100_A, H100_A_AUDIO), saved.getGroupDevicesList());
        // its GPU is held for process containers too
        assertThrows(VesselException.class, () -> allocator.allocate("p", at(H100_A)));
    }

    @Test
    void aVmIsRefusedAGroupWithABridgeAndAHostWithoutIommu() throws Exception {
        VesselException bridge = assertThrows(VesselException.class, () -> allocator.allocateGroups("vm", at(AMD)));
        assertEquals("resources.gpu_addresses[0]", bridge.field().orElseThrow());
        assertTrue(bridge.getMessage().contains("PCI bridge " + FakeGpuHost.AMD_BRIDGE), bridge.getMessage());
        assertEquals(Map.of(), allocator.holders());

        host.removeIommu();
        GpuAllocator noIommu = new GpuAllocator(host.discovery().discover(), paths);
        VesselException refused = assertThrows(VesselException.class, () -> noIommu.allocateGroups("vm", count(1)));
        assertEquals(ErrorCode.UNAVAILABLE, refused.code());
        assertEquals("resources.gpus", refused.field().orElseThrow());
        assertTrue(refused.getMessage().contains("no IOMMU"), refused.getMessage());
    }

    private static Resources count(int n) {
        return Resources.newBuilder().setGpus(n).build();
    }

    private static Resources at(String... addresses) {
        return Resources.newBuilder().addAllGpuAddresses(List.of(addresses)).build();
    }

    private static List<String> addresses(List<Gpu> gpus) {
        return gpus.stream().map(g -> g.address().value()).toList();
    }
}
