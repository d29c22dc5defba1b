package dev.vessel.core.gpu;

import static dev.vessel.core.gpu.FakeGpuHost.AMD;
import static dev.vessel.core.gpu.FakeGpuHost.AMD_AUDIO;
import static dev.vessel.core.gpu.FakeGpuHost.AMD_BRIDGE;
import static dev.vessel.core.gpu.FakeGpuHost.H100_A;
import static dev.vessel.core.gpu.FakeGpuHost.H100_ALONE;
import static dev.vessel.core.gpu.FakeGpuHost.H100_A_AUDIO;
import static dev.vessel.core.gpu.FakeGpuHost.H200_B;
import static dev.vessel.core.gpu.FakeGpuHost.INTEL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GpuDiscoveryTest {
    @TempDir
    Path tmp;

    @Test
    void findsTheDisplayAnd3dControllersOfTheThreeVendorsAndNothingElse() throws Exception {
        GpuInventory inventory = FakeGpuHost.create(tmp).discovery().discover();

        assertEquals(List.of(INTEL, AMD, H100_A, H100_ALONE, H200_B),
                inventory.gpus().stream().map(g -> g.address().value()).toList());
        assertTrue(inventory.iommu());
    }

    @Test
    void anNvidiaGpuCarriesWhatSysfsAndTheDriverSay() throws Exception {
        FakeGpuHost host = FakeGpuHost.create(tmp);
        GpuInventory inventory = host.discovery().discover();

        Gpu h200 = inventory.find(new PciAddress(H200_B)).orElseThrow();
        assertEquals(GpuVendor.NVIDIA, h200.vendor());
        assertEquals(0x2335, h200.pci().device());
        assertEquals(0x030200, h200.pci().pciClass());
        assertEquals("NVIDIA H200", h200.model());
        assertEquals(1, h200.numaNode());
        assertEquals(Optional.of("nvidia"), h200.driver());
        Gpu.NvidiaGpu nvidia = h200.nvidia().orElseThrow();
        assertEquals(1, nvidia.minor());
        assertEquals(Optional.of(FakeGpuHost.uuid(H200_B)), nvidia.uuid());
        // the node's number is stat's, not assumed from the minor: the fixture gave it /dev/fuse's
        assertEquals(new DeviceNode("nvidia1", host.dev().resolve("nvidia1"), 10, 229), nvidia.node().orElseThrow());

        Gpu h100 = inventory.find(new PciAddress(H100_A)).orElseThrow();
        assertEquals("NVIDIA H100 80GB HBM3", h100.model());
        assertEquals(0, h100.nvidia().orElseThrow().minor());
    }

    @Test
    void eachGpuKnowsEveryDeviceOfItsIommuGroupWithTheirClasses() throws Exception {
        GpuInventory inventory = FakeGpuHost.create(tmp).discovery().discover();

        IommuGroup shared = inventory.find(new PciAddress(H100_A)).orElseThrow().iommuGroup().orElseThrow();
        assertEquals(28, shared.number());
        assertEquals(List.of(new PciAddress(H100_A), new PciAddress(H100_A_AUDIO)), shared.addresses());
        assertEquals(0x040300, shared.devices().get(1).pciClass());
        assertEquals(Optional.empty(), shared.passthroughProblem());

        IommuGroup alone = inventory.find(new PciAddress(H100_ALONE)).orElseThrow().iommuGroup().orElseThrow();
        assertEquals(List.of(new PciAddress(H100_ALONE)), alone.addresses());

        IommuGroup withBridge = inventory.find(new PciAddress(AMD)).orElseThrow().iommuGroup().orElseThrow();
        assertEquals(List.of(new PciAddress(AMD_BRIDGE), new PciAddress(AMD), new PciAddress(AMD_AUDIO)),
                withBridge.addresses());
        assertTrue(withBridge.devices().getFirst().isBridge());
        assertTrue(withBridge.passthroughProblem().orElseThrow().contains("PCI bridge " + AMD_BRIDGE));
    }

    @Test
    void otherVendorsAreNamedByTheirIdsAndHaveNoNvidiaPart() throws Exception {
        GpuInventory inventory = FakeGpuHost.create(tmp).discovery().discover();

        Gpu amd = inventory.find(new PciAddress(AMD)).orElseThrow();
        assertEquals("AMD 1002:744c", amd.model());
        assertEquals(-1, amd.numaNode());
        assertEquals(Optional.of("amdgpu"), amd.driver());
        assertEquals(Optional.empty(), amd.nvidia());
        assertEquals("INTEL 8086:56a0", inventory.find(new PciAddress(INTEL)).orElseThrow().model());
    }

    @Test
    void theControlNodesAreFoundWithTheirRealNumbers() throws Exception {
        FakeGpuHost host = FakeGpuHost.create(tmp);
        List<DeviceNode> nodes = host.discovery().discover().nvidiaControlNodes();

        assertEquals(List.of("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"),
                nodes.stream().map(DeviceNode::name).toList());
        assertEquals(new DeviceNode("nvidia-uvm", host.dev().resolve("nvidia-uvm"), 10, 257), nodes.get(1));
    }

    @Test
    void aGpuBoundToVfioHasItsDriverButNoNvidiaPart() throws Exception {
        FakeGpuHost host = FakeGpuHost.create(tmp);
        host.bindDriver(H100_ALONE, "vfio-pci");

        Gpu gpu = host.discovery().discover().find(new PciAddress(H100_ALONE)).orElseThrow();
        assertEquals(Optional.of("vfio-pci"), gpu.driver());
        assertEquals(Optional.empty(), gpu.nvidia());
        assertEquals("NVIDIA 10de:2330", gpu.model());
    }

    @Test
    void withoutAnIommuGpusHaveNoGroup() throws Exception {
        FakeGpuHost host = FakeGpuHost.create(tmp);
        host.removeIommu();

        GpuInventory inventory = host.discovery().discover();
        assertFalse(inventory.iommu());
        assertTrue(inventory.gpus().stream().allMatch(g -> g.iommuGroup().isEmpty()));
        assertEquals(5, inventory.gpus().size());
    }

    @Test
    void missingRootsMeanNoGpus() {
        GpuInventory inventory = new GpuDiscovery(tmp.resolve("sys"), tmp.resolve("proc"), tmp.resolve("dev")).discover();
        assertEquals(GpuInventory.NONE, inventory);
    }

    /** This machine has PCI devices and no GPU: discovery reads the real sysfs, lists none and does not fail. */
    @Test
    void theRealSysfsOfThisHostListsItsGpus() throws Exception {
        assertTrue(Files.isDirectory(Path.of("/sys/bus/pci/devices")), "no /sys/bus/pci/devices on this host");
        GpuInventory inventory = GpuDiscovery.host().discover();
        long displayControllers;
        try (var devices = Files.list(Path.of("/sys/bus/pci/devices"))) {
            displayControllers = devices.filter(d -> {
                try {
                    String c = Files.readString(d.resolve("class")).strip();
                    String vendor = Files.readString(d.resolve("vendor")).strip();
                    return (c.startsWith("0x0300") || c.startsWith("0x0302"))
                            && List.of("0x10de", "0x1002", "0x8086").contains(vendor);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).count();
        }
        // what the kernel lists, read independently: none on a machine without a GPU, each one on a machine with
        assertEquals(displayControllers, inventory.gpus().size(), inventory.toString());
    }

    @Test
    void theSizeOfEachDevicesSixtyFourBitBarsComesFromSysfsResource() throws Exception {
        GpuInventory inventory = FakeGpuHost.create(tmp).discovery().discover();

        assertEquals(FakeGpuHost.NVIDIA_MMIO64_BYTES, inventory.find(new PciAddress(H100_A)).orElseThrow().pci().mmio64Bytes(),
                "BAR1 and BAR3; BAR0 is 32-bit");
        assertEquals(0, inventory.find(new PciAddress(INTEL)).orElseThrow().pci().mmio64Bytes(), "no resource file");
    }

    @Test
    void listsEveryPciDeviceAndEveryIommuGroupAsTheKernelMadeThem() throws Exception {
        GpuDiscovery discovery = FakeGpuHost.create(tmp).discovery();

        assertEquals(11, discovery.pciDevices().size());
        assertEquals(new PciAddress(FakeGpuHost.AMD_BRIDGE), discovery.pciDevices().get(2).address(), "in address order");
        List<IommuGroup> groups = discovery.iommuGroups();
        assertEquals(List.of(1, 2, 13, 15, 28, 44, 71), groups.stream().map(IommuGroup::number).toList());
        assertEquals(List.of(new PciAddress(FakeGpuHost.AMD_BRIDGE), new PciAddress(AMD), new PciAddress(FakeGpuHost.AMD_AUDIO)),
                groups.get(2).addresses());
    }
}
