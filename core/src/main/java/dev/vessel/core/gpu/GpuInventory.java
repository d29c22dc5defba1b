package dev.vessel.core.gpu;

import java.util.List;
import java.util.Optional;

/**
 * The GPUs of a node and what they need besides themselves.
 *
 * @param gpus               by PCI address
 * @param nvidiaControlNodes the NVIDIA driver's nodes every NVIDIA container needs (nvidiactl,
 *                           nvidia-uvm, nvidia-uvm-tools, nvidia-modeset), those present
 * @param iommu              whether the host has an IOMMU (any IOMMU group): VFIO needs one
 */
public record GpuInventory(List<Gpu> gpus, List<DeviceNode> nvidiaControlNodes, boolean iommu) {
    public static final GpuInventory NONE = new GpuInventory(List.of(), List.of(), false);

    public GpuInventory {
        gpus = List.copyOf(gpus);
        nvidiaControlNodes = List.copyOf(nvidiaControlNodes);
    }

    public Optional<Gpu> find(PciAddress address) {
        return gpus.stream().filter(g -> g.address().equals(address)).findFirst();
    }
}
