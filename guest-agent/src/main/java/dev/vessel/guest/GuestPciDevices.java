package dev.vessel.guest;

import dev.vessel.core.agent.GuestPciDevice;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.gpu.GpuDiscovery;
import dev.vessel.core.gpu.IommuGroup;
import dev.vessel.core.gpu.PciAddress;
import dev.vessel.core.gpu.PciDevice;
import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The PCI functions the guest's kernel lists, as the agent's hello reports them: what a VM given GPUs
 * (VFIO) actually sees, read by the host's own discovery code ({@link GpuDiscovery}) from the guest's sysfs.
 */
final class GuestPciDevices {
    private static final System.Logger LOG = System.getLogger(GuestPciDevices.class.getName());

    private GuestPciDevices() {
    }

    /** Every device with its driver and IOMMU group; none, logged, where sysfs cannot be read. */
    static List<GuestPciDevice> list(GpuDiscovery discovery) {
        try {
            Map<PciAddress, Integer> groups = new HashMap<>();
            for (IommuGroup group : discovery.iommuGroups()) {
                group.addresses().forEach(a -> groups.put(a, group.number()));
            }
            return discovery.pciDevices().stream().map(d -> report(d, groups.getOrDefault(d.address(), -1))).toList();
        } catch (VesselException e) {
            LOG.log(Level.WARNING, "cannot list the guest''s PCI devices: {0}", e.getMessage());
            return List.of();
        }
    }

    private static GuestPciDevice report(PciDevice device, int group) {
        return GuestPciDevice.newBuilder().setAddress(device.address().value()).setIds(device.ids())
                .setPciClass(device.pciClass()).setDriver(device.driver().orElse("")).setIommuGroup(group).build();
    }
}
