package dev.vessel.isolators.vm;

import static dev.vessel.core.gpu.FakeGpuHost.AMD;
import static dev.vessel.core.gpu.FakeGpuHost.AMD_BRIDGE;
import static dev.vessel.core.gpu.FakeGpuHost.H100_A;
import static dev.vessel.core.gpu.FakeGpuHost.H100_A_AUDIO;
import static dev.vessel.core.gpu.FakeGpuHost.H100_ALONE;
import static dev.vessel.core.gpu.FakeGpuHost.H200_B;
import static dev.vessel.core.gpu.FakeGpuHost.H200_B_AUDIO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.checkpoint.CheckpointFile;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.gpu.FakeGpuHost;
import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.gpu.PciAddress;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.GpuAllocation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Resources;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.isolators.testing.DirectPrepareContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** vm/gpu against the fake GPU host: whole IOMMU groups for VM tasks, refusals that leave nothing, recovery. */
class VmGpuIsolatorTest {
    private static final ProtoCodec<GpuAllocation> CODEC = ProtoCodec.of(1, GpuAllocation.parser());

    @TempDir
    Path dir;
    private FakeGpuHost host;
    private RuntimePaths paths;
    private GpuAllocator allocator;
    private VmGpuIsolator isolator;

    @BeforeEach
    void setUp() throws Exception {
        host = FakeGpuHost.create(dir.resolve("host"));
        paths = TestContainers.paths(dir);
        allocator = new GpuAllocator(host.discovery().discover(), paths);
        isolator = new VmGpuIsolator(allocator);
    }

    @Test
    void aVmTaskGetsEveryDeviceOfItsGpusGroupsCheckpointedAndTheirWindowThenFreesThem() throws Exception {
        DirectPrepareContext vm = context("vm-a", Resources.newBuilder().addGpuAddresses(H200_B).build());
        LaunchInfo info = isolator.prepare(vm);

        assertEquals(List.of(H200_B, H200_B_AUDIO), info.getVm().getPassthroughDevicesList(), "the GPU's group, whole");
        assertEquals(256L << 30, info.getVm().getMmio64WindowBytes(), "BAR1 and BAR3 round up to 256 GiB");
        GpuAllocation saved = CheckpointFile.read(paths.gpuAllocation("vm-a"), CODEC).orElseThrow();
        assertEquals(GpuAllocation.Use.VFIO, saved.getUse());
        assertEquals(List.of(H200_B), saved.getGpusList());
        assertEquals(List.of(H200_B, H200_B_AUDIO), saved.getGroupDevicesList());
        assertEquals(List.of(H200_B), isolator.status(vm).getGpusList());

        isolator.cleanup(vm);
        assertTrue(allocator.holders().isEmpty());
        assertFalse(Files.exists(paths.gpuAllocation("vm-a")));
        assertEquals(LaunchInfo.getDefaultInstance(), isolator.prepare(context("vm-none", Resources.getDefaultInstance())),
                "no GPUs asked for: nothing passed through");
    }

    @Test
    void refusalsNameTheFieldAndLeaveNothing() throws Exception {
        isolator.prepare(context("holder", Resources.newBuilder().addGpuAddresses(H100_ALONE).build()));

        assertRefused("resources.gpu_addresses[0]", Resources.newBuilder().addGpuAddresses(H100_ALONE), "in use by");
        assertRefused("resources.gpu_addresses[0]", Resources.newBuilder().addGpuAddresses(AMD),
                "cannot be passed through: IOMMU group 13 also holds the PCI bridge " + AMD_BRIDGE);
        // the AMD GPU's group holds a bridge: a VM never gets it, not even by count
        assertRefused("resources.gpus", Resources.newBuilder().setGpus(5), "5 GPUs asked for, but this node has 4 that a VM");
        assertRefused("resources.gpus", Resources.newBuilder().setGpus(4), "only 3 of 4 are free");
        assertRefused("resources.gpu_addresses[0]", Resources.newBuilder().addGpuAddresses(H100_A_AUDIO),
                "is not a GPU of this node");
        assertEquals(Map.of(new PciAddress(H100_ALONE), "holder"), allocator.holders());

        host.removeIommu();
        GpuAllocator withoutIommu = new GpuAllocator(host.discovery().discover(), TestContainers.paths(dir.resolve("b")));
        VesselException e = assertThrows(VesselException.class, () -> new VmGpuIsolator(withoutIommu)
                .prepare(context("vm-b", Resources.newBuilder().setGpus(1).build())));
        assertEquals("resources.gpus", e.field().orElseThrow());
        assertEquals(ErrorCode.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("no IOMMU"), e.getMessage());
        assertTrue(withoutIommu.holders().isEmpty());
    }

    @Test
    void afterACrashTheLiveVmKeepsItsGroupsAndTheGoneOnesAreFreed() throws Exception {
        isolator.prepare(context("live", Resources.newBuilder().addGpuAddresses(H100_A).build()));
        isolator.prepare(context("gone", Resources.newBuilder().addGpuAddresses(H200_B).build()));

        // a new daemon: a fresh allocator on the same run dir, and the one live VM
        GpuAllocator restarted = new GpuAllocator(host.discovery().discover(), paths);
        VmGpuIsolator recovered = new VmGpuIsolator(restarted);
        recovered.recover(List.of(context("live", Resources.getDefaultInstance())));

        assertEquals(Map.of(new PciAddress(H100_A), "live"), restarted.holders());
        assertFalse(Files.exists(paths.gpuAllocation("gone")), "the gone VM's checkpoint is removed");
        assertEquals(List.of(H100_A), recovered.status(context("live", Resources.getDefaultInstance())).getGpusList());
        LaunchInfo again = recovered.prepare(context("next", Resources.newBuilder().addGpuAddresses(H200_B).build()));
        assertEquals(List.of(H200_B, H200_B_AUDIO), again.getVm().getPassthroughDevicesList(), "the freed group serves again");
    }

    private void assertRefused(String field, Resources.Builder request, String why) throws Exception {
        DirectPrepareContext vm = context("refused", request.build());
        VesselException e = assertThrows(VesselException.class, () -> isolator.prepare(vm));
        assertEquals(field, e.field().orElseThrow(), e.getMessage());
        assertTrue(e.getMessage().contains(why), e.getMessage());
        assertFalse(Files.exists(paths.gpuAllocation("refused")), "a refusal wrote a checkpoint");
        assertTrue(allocator.heldBy("refused").isEmpty());
    }

    private DirectPrepareContext context(String id, Resources resources) throws Exception {
        ContainerConfig config = TestContainers.vmConfig(id).setResources(resources).build();
        Path containerDir = Files.createDirectories(paths.containerDir(List.of(id)));
        return new DirectPrepareContext(config, containerDir, containerDir.resolve("isolators/vm-gpu.ckpt"));
    }
}
