package dev.vessel.node.api;

import dev.vessel.core.gpu.Gpu;
import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.gpu.IommuGroup;
import dev.vessel.core.gpu.PciAddress;
import java.util.List;
import java.util.Map;

/**
 * One GPU of the node as {@code /v1/info} lists it.
 *
 * @param ids        vendor:device, as lspci -n writes them
 * @param iommuGroup its IOMMU group, -1 on a host without an IOMMU
 * @param iommuGroupDevices every device of that group (the GPU too)
 * @param numaNode   -1 when the host does not say
 * @param driver     the driver bound now; empty when none
 * @param heldBy     the container holding it; empty when it is free
 */
public record GpuInfo(String address, String vendor, String model, String ids, int iommuGroup,
        List<String> iommuGroupDevices, int numaNode, String driver, String heldBy) {
    public GpuInfo {
        iommuGroupDevices = List.copyOf(iommuGroupDevices);
    }

    /** Every GPU the allocator knows, in address order, with its holder now. */
    public static List<GpuInfo> of(GpuAllocator allocator) {
        Map<PciAddress, String> holders = allocator.holders();
        return allocator.inventory().gpus().stream().map(g -> of(g, holders.getOrDefault(g.address(), ""))).toList();
    }

    private static GpuInfo of(Gpu gpu, String holder) {
        return new GpuInfo(gpu.address().value(), gpu.vendor().name().toLowerCase(java.util.Locale.ROOT), gpu.model(),
                gpu.pci().ids(), gpu.iommuGroup().map(IommuGroup::number).orElse(-1),
                gpu.iommuGroup().map(g -> g.addresses().stream().map(PciAddress::value).toList()).orElse(List.of()),
                gpu.numaNode(), gpu.driver().orElse(""), holder);
    }
}
