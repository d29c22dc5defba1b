package dev.vessel.isolators.gpu;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.gpu.DeviceNode;
import dev.vessel.core.gpu.Gpu;
import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.GpuAllocation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Mount;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.isolators.cgroups.AllowedDevices;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * NVIDIA GPUs for process containers, as Mesos's {@code gpu/nvidia} isolator: in {@code prepare} the
 * node's {@link GpuAllocator} gives the container whole GPUs (by count or address; a refusal names the
 * field before anything is made for the launch); the container gets in its /dev exactly their nodes and
 * the driver's control nodes (bind mounts of the host's nodes, so each keeps the host's major:minor),
 * the devices cgroup allows exactly those ({@link AllowedDevices}, read by cgroups/devices), the
 * driver's user-space is bound read-only under {@code /usr/local/nvidia} ({@link NvidiaDriverFiles}),
 * and {@code NVIDIA_VISIBLE_DEVICES} names its GPUs. {@code cleanup} gives them back, {@code recover}
 * takes back those of the containers still alive.
 *
 * <p>{@code NVIDIA_VISIBLE_DEVICES} holds the GPUs' UUIDs rather than indexes: an index means the host's
 * device minor to some readers and the position among the visible GPUs to others, while a UUID names
 * one board on every host, after a reboot too, and in nvidia-smi's output.
 */
public final class NvidiaGpuIsolator implements Isolator {
    public static final String VISIBLE_DEVICES = "NVIDIA_VISIBLE_DEVICES";

    private final GpuAllocator allocator;
    private final NvidiaDriverFiles driverFiles;

    public NvidiaGpuIsolator(GpuAllocator allocator, NvidiaDriverFiles driverFiles) {
        this.allocator = Objects.requireNonNull(allocator, "allocator");
        this.driverFiles = Objects.requireNonNull(driverFiles, "driverFiles");
    }

    @Override
    public String name() {
        return "gpu/nvidia";
    }

    @Override
    public Set<Key<?>> provides() {
        return Set.of(AllowedDevices.KEY);
    }

    @Override
    public void recover(List<ContainerContext> containers) {
        allocator.recover(GpuAllocation.Use.DEVICES, containers.stream().map(ContainerContext::containerId).toList());
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        Resources request = context.config().getResources();
        if (GpuAllocator.asksForGpus(request) && !allocator.inventory().gpus().isEmpty()
                && allocator.inventory().nvidiaControlNodes().stream().noneMatch(n -> n.name().equals("nvidiactl"))) {
            throw new VesselException(ErrorCode.UNAVAILABLE, request.getGpuAddressesCount() > 0
                    ? GpuAllocator.ADDRESS_FIELD : GpuAllocator.COUNT_FIELD,
                    "this node has no /dev/nvidiactl: the NVIDIA driver is not loaded");
        }
        List<Gpu> gpus = allocator.allocate(context.containerId(), request);
        if (gpus.isEmpty()) {
            context.put(AllowedDevices.KEY, AllowedDevices.NONE);
            return LaunchInfo.getDefaultInstance();
        }
        List<DeviceNode> nodes = Stream.concat(gpus.stream().map(g -> g.nvidia().orElseThrow().node().orElseThrow()),
                allocator.inventory().nvidiaControlNodes().stream()).toList();
        context.put(AllowedDevices.KEY, new AllowedDevices(nodes.stream().map(DeviceNode::allowRule).toList()));

        List<Mount> mounts = new ArrayList<>();
        for (DeviceNode node : nodes) {
            // not nodev: the node is what the container is meant to open
            mounts.add(Mount.newBuilder().setType("bind").setSource(node.path().toString())
                    .setTarget("/dev/" + node.name()).addOptions("nosuid").addOptions("noexec").build());
        }
        mounts.addAll(driverFiles.mounts());
        return LaunchInfo.newBuilder()
                .addAllMounts(mounts)
                .addEnv(EnvVar.newBuilder().setName(VISIBLE_DEVICES).setValue(gpus.stream()
                        .map(g -> g.nvidia().orElseThrow().uuid().orElse(Integer.toString(g.nvidia().get().minor())))
                        .collect(Collectors.joining(","))))
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
