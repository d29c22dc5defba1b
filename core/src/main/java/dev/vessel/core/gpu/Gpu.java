package dev.vessel.core.gpu;

import java.util.Optional;

/**
 * One GPU of the node, as discovery found it.
 *
 * @param model      the driver's name for it (NVIDIA: {@code NVIDIA H100 80GB HBM3}); otherwise the
 *                   vendor and the PCI ids ({@code AMD 1002:744c})
 * @param numaNode   the NUMA node it hangs off; -1 when the host does not say
 * @param iommuGroup its IOMMU group with every device in it; empty on a host without an IOMMU
 * @param nvidia     what the NVIDIA driver says of it; empty for other vendors and where that driver
 *                   does not drive it (unbound, or bound to vfio-pci)
 */
public record Gpu(PciDevice pci, GpuVendor vendor, String model, int numaNode, Optional<IommuGroup> iommuGroup,
        Optional<NvidiaGpu> nvidia) {

    /**
     * @param minor the driver's device minor: the GPU's node is {@code /dev/nvidia<minor>}
     * @param uuid  {@code GPU-…}; empty when the driver's file gives none
     * @param node  its device node under the dev root; empty when there is none
     */
    public record NvidiaGpu(int minor, Optional<String> uuid, Optional<DeviceNode> node) {
    }

    public PciAddress address() {
        return pci.address();
    }

    public Optional<String> driver() {
        return pci.driver();
    }
}
