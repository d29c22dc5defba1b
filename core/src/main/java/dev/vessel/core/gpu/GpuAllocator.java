package dev.vessel.core.gpu;

import dev.vessel.core.checkpoint.CheckpointFile;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.GpuAllocation;
import dev.vessel.core.model.Resources;
import dev.vessel.core.paths.RuntimePaths;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The node's one GPU allocator: whole GPUs, each held by at most one container, for process containers
 * (their device nodes, {@link GpuAllocation.Use#DEVICES}) and VMs (whole IOMMU groups through VFIO,
 * {@link GpuAllocation.Use#VFIO}). A container asks by count ({@code resources.gpus}) or by address
 * ({@code resources.gpu_addresses}); a refusal names that field.
 *
 * <p>Each holder's GPUs are checkpointed ({@link RuntimePaths#gpuAllocation}) before the caller gets
 * them, and the checkpoint is removed when they are released. At start-up, {@link #recover} takes back
 * the GPUs of the holders still alive and frees those of the rest (a container that ended while the
 * daemon was down). Each use recovers its own holders: the isolator that allocates for it knows which
 * of its containers live.
 */
public final class GpuAllocator {
    public static final String COUNT_FIELD = "resources.gpus";
    public static final String ADDRESS_FIELD = "resources.gpu_addresses";

    static final ProtoCodec<GpuAllocation> CODEC = ProtoCodec.of(1, GpuAllocation.parser());
    private static final System.Logger LOG = System.getLogger(GpuAllocator.class.getName());

    /** What one holder has: the GPUs, and for VFIO every device of their groups. */
    private record Holding(GpuAllocation.Use use, List<PciAddress> gpus, List<PciAddress> groupDevices) {
    }

    private final GpuInventory inventory;
    private final RuntimePaths paths;
    private final Map<String, Holding> holdings = new LinkedHashMap<>();
    /** GPU → its holder; kept with {@link #holdings}. */
    private final Map<PciAddress, String> holders = new HashMap<>();

    public GpuAllocator(GpuInventory inventory, RuntimePaths paths) {
        this.inventory = inventory;
        this.paths = paths;
    }

    public GpuInventory inventory() {
        return inventory;
    }

    /** Whether {@code resources} asks for any GPU. */
    public static boolean asksForGpus(Resources resources) {
        return resources.getGpus() > 0 || resources.getGpuAddressesCount() > 0;
    }

    /**
     * Refuses, naming the field, a request that cannot be served now (no GPUs, too many, not a GPU, in
     * use, unusable for {@code use}); takes nothing. The check before anything is made for a container.
     */
    public synchronized void check(Resources request, GpuAllocation.Use use) {
        select(request, use);
    }

    /**
     * The GPUs for a process container: its own from now until {@link #release}, checkpointed. None when
     * it asks for none. A holder asking again gets what it holds.
     */
    public synchronized List<Gpu> allocate(String holder, Resources request) {
        return gpus(take(holder, request, GpuAllocation.Use.DEVICES).gpus());
    }

    /**
     * The IOMMU groups of the GPUs for a VM: every device in them is the VM's (VFIO passes a group
     * whole), and so is every GPU they hold. Refused on a host without an IOMMU and for a group holding
     * a device that cannot be passed through (a bridge).
     */
    public synchronized List<IommuGroup> allocateGroups(String holder, Resources request) {
        Holding holding = take(holder, request, GpuAllocation.Use.VFIO);
        return gpus(holding.gpus()).stream().map(g -> g.iommuGroup().orElseThrow()).distinct().toList();
    }

    /** Frees what {@code holder} holds, its checkpoint too; nothing when it holds nothing. */
    public synchronized void release(String holder) {
        Holding holding = holdings.remove(holder);
        if (holding != null) {
            holding.gpus().forEach(holders::remove);
        }
        CheckpointFile.delete(paths.gpuAllocation(holder));
    }

    /** The GPUs {@code holder} holds, in address order; none when it holds none. */
    public synchronized List<Gpu> heldBy(String holder) {
        Holding holding = holdings.get(holder);
        return holding == null ? List.of() : gpus(holding.gpus());
    }

    /** Who holds each GPU that is held. */
    public synchronized Map<PciAddress, String> holders() {
        return new TreeMap<>(holders);
    }

    /**
     * At start-up, before any allocation: the holders of {@code use} listed in {@code live} keep their
     * GPUs (from their checkpoints); the checkpoints of the others are removed. Checkpoints of the other
     * use are left to its own recovery.
     */
    public synchronized void recover(GpuAllocation.Use use, Collection<String> live) {
        Set<String> alive = Set.copyOf(live);
        List<String> found;
        try {
            found = paths.gpuAllocationHolders();
        } catch (IOException e) {
            throw VesselException.internal(paths.gpuAllocationsDir().toString(),
                    "cannot list GPU allocations: " + e.getMessage(), e);
        }
        for (String holder : found) {
            Optional<GpuAllocation> saved = CheckpointFile.read(paths.gpuAllocation(holder), CODEC);
            if (saved.isEmpty() || saved.get().getUse() != use || holdings.containsKey(holder)) {
                continue;
            }
            if (!alive.contains(holder)) {
                LOG.log(Level.INFO, "GPUs {0} of container {1}, which is gone, are free again",
                        saved.get().getGpusList(), holder);
                CheckpointFile.delete(paths.gpuAllocation(holder));
                continue;
            }
            List<PciAddress> gpus = saved.get().getGpusList().stream().map(PciAddress::new).toList();
            List<String> clash = gpus.stream().filter(holders::containsKey)
                    .map(a -> a + " (held by " + holders.get(a) + ")").toList();
            if (!clash.isEmpty()) {
                // two checkpoints claiming one GPU: never happens unless a file was copied by hand
                throw new VesselException(ErrorCode.DATA_LOSS, paths.gpuAllocation(holder).toString(),
                        "container " + holder + " claims GPUs another holds: " + clash);
            }
            hold(holder, new Holding(use, gpus,
                    saved.get().getGroupDevicesList().stream().map(PciAddress::new).toList()));
        }
    }

    // ---------------------------------------------------------------------------------------------

    private Holding take(String holder, Resources request, GpuAllocation.Use use) {
        Holding held = holdings.get(holder);
        if (held != null && held.use() == use) {
            return held;
        }
        List<Gpu> chosen = select(request, use);
        List<PciAddress> groupDevices = use == GpuAllocation.Use.VFIO
                ? chosen.stream().flatMap(g -> g.iommuGroup().orElseThrow().addresses().stream()).distinct().toList()
                : List.of();
        Holding holding = new Holding(use, chosen.stream().map(Gpu::address).toList(), groupDevices);
        if (chosen.isEmpty()) {
            return holding;
        }
        CheckpointFile.write(paths.gpuAllocation(holder), CODEC, GpuAllocation.newBuilder()
                .setHolder(holder)
                .setUse(use)
                .addAllGpus(holding.gpus().stream().map(PciAddress::value).toList())
                .addAllGroupDevices(groupDevices.stream().map(PciAddress::value).toList())
                .build());
        hold(holder, holding);
        return holding;
    }

    private void hold(String holder, Holding holding) {
        holdings.put(holder, holding);
        holding.gpus().forEach(a -> holders.put(a, holder));
    }

    /** The GPUs that serve {@code request} now, or a refusal naming the field; takes nothing. */
    private List<Gpu> select(Resources request, GpuAllocation.Use use) {
        if (!asksForGpus(request)) {
            return List.of();
        }
        String field = request.getGpuAddressesCount() > 0 ? ADDRESS_FIELD : COUNT_FIELD;
        if (inventory.gpus().isEmpty()) {
            throw new VesselException(ErrorCode.UNAVAILABLE, field, "this node has no GPUs");
        }
        if (use == GpuAllocation.Use.VFIO && !inventory.iommu()) {
            throw new VesselException(ErrorCode.UNAVAILABLE, field, "this host has no IOMMU (no IOMMU groups under"
                    + " /sys/kernel/iommu_groups): a VM cannot be given a GPU; turn the IOMMU on (intel_iommu=on or"
                    + " amd_iommu=on on the kernel command line)");
        }
        List<Gpu> chosen = request.getGpuAddressesCount() > 0 ? byAddress(request, use) : byCount(request.getGpus(), use);
        if (use == GpuAllocation.Use.VFIO) {
            checkGroups(chosen, field);
        }
        return chosen;
    }

    private List<Gpu> byAddress(Resources request, GpuAllocation.Use use) {
        List<Gpu> chosen = new ArrayList<>();
        for (int i = 0; i < request.getGpuAddressesCount(); i++) {
            String field = ADDRESS_FIELD + "[" + i + "]";
            String text = request.getGpuAddresses(i);
            PciAddress address = PciAddress.parse(text).orElseThrow(() -> VesselException.invalid(field,
                    Quoted.of(text) + " is not a PCI address (domain:bus:device.function in lower-case hex, e.g."
                            + " 0000:41:00.0)"));
            Gpu gpu = inventory.find(address).orElseThrow(() -> VesselException.invalid(field, address
                    + " is not a GPU of this node (its GPUs: " + addresses(inventory.gpus()) + ")"));
            String holder = holders.get(address);
            if (holder != null) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, field,
                        "GPU " + address + " is in use by container '" + holder + "'");
            }
            unusable(gpu, use).ifPresent(why -> {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, field, "GPU " + address + " " + why);
            });
            chosen.add(gpu);
        }
        return chosen;
    }

    /**
     * {@code count} free GPUs usable for {@code use}: all on one NUMA node when one has enough (the
     * lowest such node), else the first free ones in address order.
     */
    private List<Gpu> byCount(int count, GpuAllocation.Use use) {
        List<Gpu> usable = inventory.gpus().stream().filter(g -> unusable(g, use).isEmpty()).toList();
        if (count > usable.size()) {
            String why = usable.size() == inventory.gpus().size() ? "" : " that " + useName(use) + " can use ("
                    + inventory.gpus().stream().filter(g -> unusable(g, use).isPresent())
                            .map(g -> g.address() + " " + unusable(g, use).get()).collect(Collectors.joining("; "))
                    + ")";
            throw VesselException.invalid(COUNT_FIELD, count + " GPUs asked for, but this node has "
                    + usable.size() + why);
        }
        List<Gpu> free = usable.stream().filter(g -> !holders.containsKey(g.address())).toList();
        if (free.size() < count) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, COUNT_FIELD, count + " GPUs asked for, but "
                    + (free.isEmpty() ? "all " + usable.size() + " are" : "only " + free.size() + " of "
                    + usable.size() + " are free; the others are") + " in use ("
                    + usable.stream().filter(g -> holders.containsKey(g.address()))
                            .map(g -> g.address() + " by '" + holders.get(g.address()) + "'")
                            .collect(Collectors.joining(", ")) + ")");
        }
        Map<Integer, List<Gpu>> byNode = free.stream()
                .collect(Collectors.groupingBy(Gpu::numaNode, TreeMap::new, Collectors.toList()));
        return byNode.values().stream().filter(gpus -> gpus.size() >= count).findFirst()
                .orElse(free).subList(0, count);
    }

    /** The groups of the chosen GPUs: none with a bridge, and no GPU in them held by another. */
    private void checkGroups(List<Gpu> chosen, String field) {
        Set<PciAddress> taken = chosen.stream().map(Gpu::address).collect(Collectors.toCollection(LinkedHashSet::new));
        for (Gpu gpu : chosen) {
            IommuGroup group = gpu.iommuGroup().orElseThrow();
            group.passthroughProblem().ifPresent(why -> {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, field, "GPU " + gpu.address() + ": " + why);
            });
            for (PciAddress member : group.addresses()) {
                String holder = holders.get(member);
                if (holder != null) {
                    throw new VesselException(ErrorCode.FAILED_PRECONDITION, field, "GPU " + gpu.address()
                            + " shares IOMMU group " + group.number() + " with GPU " + member
                            + ", in use by container '" + holder + "'");
                }
                if (inventory.find(member).isPresent() && !taken.contains(member)) {
                    throw new VesselException(ErrorCode.FAILED_PRECONDITION, field, "GPU " + gpu.address()
                            + " shares IOMMU group " + group.number() + " with GPU " + member
                            + ", which a VM must then take too: ask for both");
                }
            }
        }
    }

    /** Why {@code gpu} cannot serve {@code use}; empty when it can. */
    private static Optional<String> unusable(Gpu gpu, GpuAllocation.Use use) {
        if (use == GpuAllocation.Use.VFIO) {
            // a GPU whose group cannot go to a VM is never chosen by count, and refused by address
            return gpu.iommuGroup().isEmpty() ? Optional.of("is in no IOMMU group")
                    : gpu.iommuGroup().get().passthroughProblem().map(why -> "cannot be passed through: " + why);
        }
        if (gpu.vendor() != GpuVendor.NVIDIA) {
            return Optional.of("is not an NVIDIA GPU (process containers get NVIDIA GPUs only)");
        }
        if (gpu.nvidia().isEmpty()) {
            return Optional.of("is not driven by the NVIDIA driver (its driver: "
                    + gpu.driver().orElse("none") + ")");
        }
        if (gpu.nvidia().get().node().isEmpty()) {
            return Optional.of("has no device node nvidia" + gpu.nvidia().get().minor());
        }
        return Optional.empty();
    }

    private static String useName(GpuAllocation.Use use) {
        return use == GpuAllocation.Use.VFIO ? "a VM" : "a process container";
    }

    private List<Gpu> gpus(List<PciAddress> addresses) {
        Map<PciAddress, Gpu> byAddress = inventory.gpus().stream()
                .collect(Collectors.toMap(Gpu::address, Function.identity()));
        // a recovered GPU discovery no longer finds stays held but is not listed
        return addresses.stream().map(byAddress::get).filter(g -> g != null)
                .sorted(Comparator.comparing(Gpu::address)).toList();
    }

    private static String addresses(List<Gpu> gpus) {
        return gpus.stream().map(g -> g.address().value()).collect(Collectors.joining(", "));
    }
}
