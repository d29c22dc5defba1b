package dev.vessel.isolators;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.seccomp.SeccompProfile;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.isolators.cgroups.CgroupsIsolator;
import dev.vessel.isolators.cgroups.CpuIsolator;
import dev.vessel.isolators.cgroups.CpusetIsolator;
import dev.vessel.isolators.cgroups.DevicesIsolator;
import dev.vessel.isolators.cgroups.HugetlbIsolator;
import dev.vessel.isolators.cgroups.MemoryIsolator;
import dev.vessel.isolators.cgroups.PidsIsolator;
import dev.vessel.isolators.disk.DiskDuIsolator;
import dev.vessel.isolators.filesystem.LinuxFilesystemIsolator;
import dev.vessel.isolators.gpu.NvidiaGpuIsolator;
import dev.vessel.isolators.linux.LinuxCapabilitiesIsolator;
import dev.vessel.isolators.linux.SeccompFilters;
import dev.vessel.isolators.linux.SeccompIsolator;
import dev.vessel.isolators.namespaces.NamespacesIsolator;
import dev.vessel.isolators.namespaces.UserNamespaceIsolator;
import dev.vessel.isolators.namespaces.UserNamespaceRanges;
import dev.vessel.isolators.network.CniIsolator;
import dev.vessel.isolators.posix.PosixRlimitsIsolator;
import dev.vessel.isolators.vm.VmGpuIsolator;
import dev.vessel.isolators.vm.VmNetworkIsolator;
import dev.vessel.isolators.vm.VmResourcesIsolator;
import dev.vessel.isolators.vm.VmRootfsIsolator;
import dev.vessel.isolators.volume.DockerVolumeIsolator;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Every isolator a node can run, in one table: its name (as Mesos's {@code --isolation} names
 * isolators), where it runs, and how it is built from the node's configuration. The host, the guest,
 * the guest's training run and the benchmarks all build their chains from it, in the table's order.
 * What an isolator requires and provides is read from the built isolator.
 */
public final class IsolatorCatalog {
    private static final System.Logger LOG = System.getLogger(IsolatorCatalog.class.getName());

    /** Where an isolator runs. */
    public enum Placement {
        /** On the host, for process tasks. */
        PROCESS_HOST,
        /** On the host, for VM tasks (it shapes the VM, or resolves what the host hands the guest). */
        VM_HOST,
        /** Inside a VM's guest, for the VM's task (a process container there). */
        GUEST
    }

    /** Every placement on a host: a node's default chain. */
    public static final Set<Placement> HOST = Set.copyOf(EnumSet.of(Placement.PROCESS_HOST, Placement.VM_HOST));

    /** Builds one isolator; {@code shared} holds what the isolators of one chain share. */
    @FunctionalInterface
    public interface Factory {
        Isolator build(IsolatorContext context, Shared shared) throws VesselException;
    }

    /** One isolator of the catalog. */
    public record Entry(String name, Set<Placement> placements, Factory factory) {
        public Entry {
            placements = Set.copyOf(placements);
        }

        public boolean placedIn(Set<Placement> where) {
            return placements.stream().anyMatch(where::contains);
        }
    }

    /** What the isolators of one chain share: the cgroup controllers' one {@link CgroupsIsolator}. */
    public static final class Shared {
        private final IsolatorContext context;
        private CgroupsIsolator cgroups;

        private Shared(IsolatorContext context) {
            this.context = context;
        }

        /** The chain's {@code cgroups} isolator; unavailable where no cgroup hierarchy is mounted. */
        public CgroupsIsolator cgroups() {
            if (cgroups == null) {
                if (context.hierarchies().all().isEmpty()) {
                    throw new VesselException(ErrorCode.UNAVAILABLE, "isolation",
                            "no cgroup hierarchy is mounted: containers run without resource limits");
                }
                cgroups = new CgroupsIsolator(context.hierarchies(), context.cgroupParent());
            }
            return cgroups;
        }
    }

    private static final Set<Placement> PROCESS_AND_GUEST = EnumSet.of(Placement.PROCESS_HOST, Placement.GUEST);

    private static final List<Entry> ENTRIES = List.of(
            new Entry("cgroups", PROCESS_AND_GUEST, (c, s) -> s.cgroups()),
            new Entry("cgroups/memory", PROCESS_AND_GUEST, controller("memory", MemoryIsolator::new)),
            new Entry("cgroups/cpu", PROCESS_AND_GUEST, controller("cpu", CpuIsolator::new)),
            new Entry("cgroups/pids", PROCESS_AND_GUEST, controller("pids", PidsIsolator::new)),
            // a VM task's CPUs are its VM's, pinned by the VM launcher: the guest numbers its own from 0
            new Entry("cgroups/cpuset", EnumSet.of(Placement.PROCESS_HOST), controller("cpuset", CpusetIsolator::new)),
            // only a container with hugepage_limits is placed with it; a VM task takes limits of 0 only
            new Entry("cgroups/hugetlb", EnumSet.of(Placement.PROCESS_HOST),
                    controller(CgroupsIsolator.HUGETLB, HugetlbIsolator::new)),
            // with the node's GPUs, it also allows the devices gpu/nvidia hands a container
            new Entry("cgroups/devices", EnumSet.of(Placement.PROCESS_HOST),
                    (c, s) -> new DevicesIsolator(c.hierarchies(), c.gpus().filter(g -> g.processContainers()).isPresent())),
            new Entry("namespaces", PROCESS_AND_GUEST,
                    (c, s) -> new NamespacesIsolator(c.namespaces(), Optional.empty())),
            // userns=auto: a user namespace on the host's ranges; a VM task's boundary is its VM
            new Entry("namespaces/user", EnumSet.of(Placement.PROCESS_HOST),
                    (c, s) -> new UserNamespaceIsolator(new UserNamespaceRanges(c.userNamespaces()))),
            new Entry("filesystem/linux", EnumSet.allOf(Placement.class), (c, s) -> c.dockerVolumes().isPresent()
                    ? new LinuxFilesystemIsolator(c.paths())
                    : LinuxFilesystemIsolator.withoutDockerVolumes(c.paths())),
            new Entry("linux/capabilities", PROCESS_AND_GUEST, (c, s) -> new LinuxCapabilitiesIsolator()),
            new Entry("linux/seccomp", PROCESS_AND_GUEST,
                    (c, s) -> new SeccompIsolator(new SeccompFilters(SeccompProfile.Host.current(), c.paths().seccompProgramsDir()))),
            new Entry("posix/rlimits", PROCESS_AND_GUEST, (c, s) -> new PosixRlimitsIsolator(c.rlimitDefaults())),
            new Entry("volume/docker", HOST, (c, s) -> {
                var volumes = needs(c.dockerVolumes(), "volume/docker", "a Docker volume plugin directory");
                return new DockerVolumeIsolator(c.paths(), volumes.pluginDir(), volumes.timeout());
            }),
            new Entry("gpu/nvidia", EnumSet.of(Placement.PROCESS_HOST), (c, s) -> {
                var gpus = needs(c.gpus().filter(g -> g.processContainers()), "gpu/nvidia", "the node's GPUs");
                return new NvidiaGpuIsolator(gpus.allocator(), gpus.driverFiles());
            }),
            new Entry("disk/du", EnumSet.of(Placement.PROCESS_HOST),
                    (c, s) -> new DiskDuIsolator(c.paths(), c.diskCheckInterval())),
            new Entry("network/cni", HOST, (c, s) -> {
                var cni = needs(c.cni(), "network/cni", "a CNI configuration");
                return new CniIsolator(cni.configDir(), cni.pluginDirs(), c.paths().cniStateDir(), cni.runner());
            }),
            new Entry("vm/resources", EnumSet.of(Placement.VM_HOST), (c, s) -> {
                var vms = needs(c.vms(), "vm/resources", "a VM launcher");
                return new VmResourcesIsolator(vms.sizing(), vms.running());
            }),
            new Entry("vm/rootfs", EnumSet.of(Placement.VM_HOST), (c, s) ->
                    new VmRootfsIsolator(c.paths(), needs(c.vms(), "vm/rootfs", "a VM launcher").qemuUser())),
            // connects the guest to the interfaces network/cni made
            new Entry("vm/network", EnumSet.of(Placement.VM_HOST), (c, s) -> new VmNetworkIsolator(c.paths())),
            // whole IOMMU groups passed through by VFIO, from the same allocator as gpu/nvidia's
            new Entry("vm/gpu", EnumSet.of(Placement.VM_HOST),
                    (c, s) -> new VmGpuIsolator(needs(c.gpus(), "vm/gpu", "the node's GPUs").allocator())));

    private IsolatorCatalog() {
    }

    /** The whole table, in chain order. */
    public static List<Entry> entries() {
        return ENTRIES;
    }

    /** The names of the isolators placed in any of {@code where}, in chain order. */
    public static List<String> names(Set<Placement> where) {
        return ENTRIES.stream().filter(e -> e.placedIn(where)).map(Entry::name).toList();
    }

    /**
     * Every isolator placed in any of {@code where}, in chain order. One this host cannot run (its
     * factory says UNAVAILABLE: a cgroup controller not mounted) is left out, with a warning.
     */
    public static List<Isolator> build(IsolatorContext context, Set<Placement> where) {
        Shared shared = new Shared(context);
        List<Isolator> chain = new ArrayList<>();
        for (Entry entry : ENTRIES) {
            if (!entry.placedIn(where)) {
                continue;
            }
            try {
                chain.add(build(entry, context, shared));
            } catch (VesselException e) {
                if (e.code() != ErrorCode.UNAVAILABLE) {
                    throw e;
                }
                LOG.log(Level.WARNING, "isolator {0} left out: {1}", entry.name(), e.getMessage());
            }
        }
        return chain;
    }

    /**
     * Exactly the isolators {@code names} (placed in any of {@code where}), in chain order. Refused,
     * naming the field {@code isolation}: an unknown name; an isolator this host cannot run; one that
     * needs another which is not named.
     */
    public static List<Isolator> build(IsolatorContext context, Set<Placement> where, Collection<String> names) {
        Set<String> wanted = checkNames(names, where);
        Shared shared = new Shared(context);
        List<Isolator> chain = new ArrayList<>();
        for (Entry entry : ENTRIES) {
            if (wanted.contains(entry.name())) {
                try {
                    chain.add(build(entry, context, shared));
                } catch (VesselException e) {
                    if (e.code() != ErrorCode.UNAVAILABLE) {
                        throw e;
                    }
                    throw new VesselException(ErrorCode.UNAVAILABLE, "isolation", "isolator '" + entry.name()
                            + "' was asked for, but this host cannot run it: " + e.getMessage(), e);
                }
            }
        }
        checkNeeds(chain, context, where, shared);
        return chain;
    }

    /** The names, checked: each one an isolator placed in any of {@code where}. */
    public static Set<String> checkNames(Collection<String> names, Set<Placement> where) {
        List<String> known = names(where);
        for (String name : names) {
            if (!known.contains(name)) {
                throw VesselException.invalid("isolation", "unknown isolator '" + name + "' (known: "
                        + String.join(", ", known) + ")");
            }
        }
        return new LinkedHashSet<>(names);
    }

    /**
     * Refuses a chain in which an isolator requires a key that only an isolator left out provides,
     * naming both; keys nobody in the catalog provides are the containerizer's own (or its refusal).
     */
    private static void checkNeeds(List<Isolator> chain, IsolatorContext context, Set<Placement> where,
            Shared shared) {
        Set<Key<?>> provided = new LinkedHashSet<>();
        chain.forEach(i -> provided.addAll(i.provides()));
        List<String> chosen = chain.stream().map(Isolator::name).toList();
        for (Isolator isolator : chain) {
            for (Key<?> key : isolator.requires()) {
                if (provided.contains(key)) {
                    continue;
                }
                for (Entry other : ENTRIES) {
                    if (other.placedIn(where) && !chosen.contains(other.name())
                            && providesKey(other, context, shared, key)) {
                        throw VesselException.invalid("isolation", "isolator '" + isolator.name() + "' needs '"
                                + other.name() + "' (it requires key " + key + ", which '" + other.name()
                                + "' provides), and '" + other.name() + "' is not among the isolators asked for");
                    }
                }
            }
        }
    }

    private static boolean providesKey(Entry entry, IsolatorContext context, Shared shared, Key<?> key) {
        try {
            return build(entry, context, shared).provides().contains(key);
        } catch (VesselException e) {
            return false; // one this host cannot run provides nothing here
        }
    }

    /** Builds the entry's isolator and checks that it is what the table says. */
    private static Isolator build(Entry entry, IsolatorContext context, Shared shared) {
        Isolator isolator = entry.factory().build(context, shared);
        if (!isolator.name().equals(entry.name())) {
            throw new IllegalStateException("catalog entry '" + entry.name() + "' built '" + isolator.name() + "'");
        }
        checkPlacements(entry, isolator);
        return isolator;
    }

    /**
     * The placements must say what the isolator's {@code appliesTo} says: on the host, PROCESS_HOST
     * exactly when it applies to process tasks and VM_HOST exactly when it applies to VM tasks; in a
     * guest, the VM's task is a process container there.
     */
    static void checkPlacements(Entry entry, Isolator isolator) {
        Set<Placement> p = entry.placements();
        boolean process = isolator.appliesTo(Isolation.PROCESS);
        boolean vm = isolator.appliesTo(Isolation.VM);
        boolean onHost = p.contains(Placement.PROCESS_HOST) || p.contains(Placement.VM_HOST);
        if (onHost && (process != p.contains(Placement.PROCESS_HOST) || vm != p.contains(Placement.VM_HOST))
                || p.contains(Placement.GUEST) && !process) {
            throw new IllegalStateException("catalog entry '" + entry.name() + "' is placed " + p
                    + " but applies to " + (process ? "process" : "") + (process && vm ? " and " : "")
                    + (vm ? "VM" : "") + (process || vm ? " tasks" : "no task"));
        }
    }

    /** A controller's isolator: unavailable where no hierarchy has the controller. */
    private static Factory controller(String controller, Function<CgroupsIsolator, Isolator> isolator) {
        return (c, s) -> {
            CgroupsIsolator cgroups = s.cgroups();
            if (c.hierarchies().forController(controller).isEmpty()) {
                throw new VesselException(ErrorCode.UNAVAILABLE, "isolation",
                        "no cgroup hierarchy here has the " + controller + " controller");
            }
            return isolator.apply(cgroups);
        };
    }

    private static <T> T needs(Optional<T> part, String isolator, String what) {
        return part.orElseThrow(() -> new VesselException(ErrorCode.UNAVAILABLE, "isolation",
                isolator + " needs " + what + ", which this node has not"));
    }
}
