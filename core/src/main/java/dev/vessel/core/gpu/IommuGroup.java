package dev.vessel.core.gpu;

import java.util.List;
import java.util.Optional;

/**
 * An IOMMU group: the smallest set of devices the IOMMU can isolate from the rest of the host. A VM
 * takes a GPU only with every device of its group (VFIO's rule), so the group is the unit of
 * passthrough.
 */
public record IommuGroup(int number, List<PciDevice> devices) {
    public IommuGroup {
        devices = List.copyOf(devices);
    }

    /** Why this group cannot be passed to a VM (a bridge in it); empty when it can. */
    public Optional<String> passthroughProblem() {
        return devices.stream().filter(PciDevice::isBridge).findFirst().map(bridge -> "IOMMU group " + number
                + " also holds the PCI bridge " + bridge.address() + " (class "
                + String.format("0x%06x", bridge.pciClass()) + "), which cannot be passed through");
    }

    public List<PciAddress> addresses() {
        return devices.stream().map(PciDevice::address).toList();
    }
}
