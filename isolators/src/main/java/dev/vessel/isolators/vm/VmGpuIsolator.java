package dev.vessel.isolators.vm;

import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.gpu.IommuGroup;
import dev.vessel.core.gpu.Mmio64Window;
import dev.vessel.core.gpu.PciDevice;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.GpuAllocation;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.VmLaunchInfo;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.PrepareContext;
import java.util.List;
import java.util.Objects;

/**
 * {@code vm/gpu}: GPUs for VMs (VM tasks and full VMs) through VFIO. In {@code prepare} the node's one
 * {@link GpuAllocator} gives the container the whole IOMMU groups of its GPUs (checkpointed before they are
 * returned; refused, naming the field, without an IOMMU, for a group holding a bridge, in use or too many),
 * and the launch info names every device of those groups and the 64-bit MMIO window their BARs need; the
 * VM launcher renders a managed {@code <hostdev>} for each (libvirt detaches them from their host driver
 * while the VM runs and gives them back; Vessel rebinds nothing). {@code cleanup} frees the groups,
 * {@code recover} keeps those of the VMs still running, as {@code gpu/nvidia} does for process containers.
 */
public final class VmGpuIsolator implements Isolator {
    private final GpuAllocator allocator;

    public VmGpuIsolator(GpuAllocator allocator) {
        this.allocator = Objects.requireNonNull(allocator, "allocator");
    }

    @Override
    public String name() {
        return "vm/gpu";
    }

    @Override
    public boolean appliesTo(Isolation isolation) {
        return isolation == Isolation.VM;
    }

    @Override
    public void recover(List<ContainerContext> containers) {
        allocator.recover(GpuAllocation.Use.VFIO, containers.stream().map(ContainerContext::containerId).toList());
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        List<IommuGroup> groups = allocator.allocateGroups(context.containerId(), context.config().getResources());
        if (groups.isEmpty()) {
            return LaunchInfo.getDefaultInstance();
        }
        List<PciDevice> devices = groups.stream().flatMap(g -> g.devices().stream()).toList();
        return LaunchInfo.newBuilder().setVm(VmLaunchInfo.newBuilder()
                .addAllPassthroughDevices(devices.stream().map(d -> d.address().value()).toList())
                .setMmio64WindowBytes(Mmio64Window.bytesFor(devices)))
                .build();
    }

    @Override
    public ContainerStatus status(ContainerContext context) {
        return ContainerStatus.newBuilder()
                .addAllGpus(allocator.heldBy(context.containerId()).stream().map(g -> g.address().value()).toList())
                .build();
    }

    @Override
    public void cleanup(ContainerContext context) {
        allocator.release(context.containerId());
    }
}
