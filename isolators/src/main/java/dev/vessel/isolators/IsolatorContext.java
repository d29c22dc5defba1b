package dev.vessel.isolators;

import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.model.Namespace;
import dev.vessel.core.model.Rlimit;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.core.vm.RunningVms;
import dev.vessel.core.vm.VmSizing;
import dev.vessel.isolators.gpu.NvidiaDriverFiles;
import dev.vessel.isolators.namespaces.NamespacesIsolator;
import dev.vessel.isolators.namespaces.UserNamespaceRanges;
import dev.vessel.isolators.network.PluginRunner;
import dev.vessel.linux.CgroupHierarchies;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What {@link IsolatorCatalog} builds isolators from: the node's configuration as the isolators'
 * constructors take it. A part a node does not have (CNI, Docker volume plugins, a VM launcher) is
 * empty, and the isolators needing it are unavailable there.
 *
 * @param paths              the node's state and run directories
 * @param hierarchies        the cgroup hierarchies mounted here
 * @param cgroupParent       the cgroup under which containers go
 * @param namespaces         the namespaces {@code namespaces} creates for every container
 * @param rlimitDefaults     what {@code posix/rlimits} sets unless a container sets the same resource
 * @param diskCheckInterval  how often {@code disk/du} measures a container's sandbox
 * @param cni                the CNI networks and plugins of {@code network/cni}
 * @param dockerVolumes      the Docker volume plugins of {@code volume/docker}; without them
 *                           {@code filesystem/linux} refuses Docker volumes (a guest's, whose host resolves them)
 * @param vms                the VM launcher's sizing, running guests and QEMU's user, for the {@code vm/*} isolators
 * @param userNamespaces     where {@code namespaces/user} takes {@code userns=auto} containers' host ids from
 * @param gpus               the node's GPUs and the NVIDIA driver's files, for {@code gpu/nvidia} and {@code vm/gpu}
 */
public record IsolatorContext(RuntimePaths paths, CgroupHierarchies hierarchies, String cgroupParent,
        Set<Namespace> namespaces, List<Rlimit> rlimitDefaults, Duration diskCheckInterval, Optional<Cni> cni,
        Optional<DockerVolumes> dockerVolumes, Optional<Vms> vms, UserNamespaceRanges.Source userNamespaces,
        Optional<Gpus> gpus) {
    /** How often a node measures its containers' disk use. */
    public static final Duration DEFAULT_DISK_CHECK_INTERVAL = Duration.ofSeconds(15);

    /** @param runner how plugins are started ({@link PluginRunner#DIRECT} on a host) */
    public record Cni(Path configDir, List<Path> pluginDirs, PluginRunner runner) {
        public Cni {
            Objects.requireNonNull(configDir, "configDir");
            pluginDirs = List.copyOf(pluginDirs);
            Objects.requireNonNull(runner, "runner");
        }
    }

    /** @param pluginDir where plugin sockets are; @param timeout how long a plugin may take to answer */
    public record DockerVolumes(Path pluginDir, Duration timeout) {
        public DockerVolumes {
            Objects.requireNonNull(pluginDir, "pluginDir");
            Objects.requireNonNull(timeout, "timeout");
        }
    }

    /**
     * @param running  the VM tasks running now, whose guests take updates and report usage
     * @param qemuUser the user QEMU runs as, to whom {@code vm/rootfs} gives the rootfs views
     */
    public record Vms(VmSizing sizing, RunningVms running, QemuUser qemuUser) {
        public Vms {
            Objects.requireNonNull(sizing, "sizing");
            Objects.requireNonNull(running, "running");
            Objects.requireNonNull(qemuUser, "qemuUser");
        }
    }

    /**
     * @param allocator          the node's one GPU allocator, for {@code gpu/nvidia} and {@code vm/gpu}
     * @param driverFiles        the NVIDIA driver's user-space
     * @param processContainers  whether {@code gpu/nvidia} hands GPUs to process containers (then
     *                           {@code cgroups/devices} waits for its rules); false where only VMs get them
     */
    public record Gpus(GpuAllocator allocator, NvidiaDriverFiles driverFiles, boolean processContainers) {
        public Gpus {
            Objects.requireNonNull(allocator, "allocator");
            Objects.requireNonNull(driverFiles, "driverFiles");
        }

        /** GPUs for process containers and VMs. */
        public Gpus(GpuAllocator allocator, NvidiaDriverFiles driverFiles) {
            this(allocator, driverFiles, true);
        }
    }

    public IsolatorContext {
        Objects.requireNonNull(paths, "paths");
        Objects.requireNonNull(hierarchies, "hierarchies");
        Objects.requireNonNull(cgroupParent, "cgroupParent");
        namespaces = Set.copyOf(namespaces);
        rlimitDefaults = List.copyOf(rlimitDefaults);
        Objects.requireNonNull(diskCheckInterval, "diskCheckInterval");
        Objects.requireNonNull(cni, "cni");
        Objects.requireNonNull(dockerVolumes, "dockerVolumes");
        Objects.requireNonNull(vms, "vms");
        Objects.requireNonNull(userNamespaces, "userNamespaces");
        Objects.requireNonNull(gpus, "gpus");
    }

    /**
     * A node's defaults: the default namespaces, no rlimit defaults, the usual disk check interval;
     * no CNI, no Docker volume plugins and no VMs until they are added (as in a guest).
     */
    public static IsolatorContext of(RuntimePaths paths, CgroupHierarchies hierarchies, String cgroupParent) {
        return new IsolatorContext(paths, hierarchies, cgroupParent, NamespacesIsolator.DEFAULT, List.of(),
                DEFAULT_DISK_CHECK_INTERVAL, Optional.empty(), Optional.empty(), Optional.empty(),
                UserNamespaceRanges.Source.defaults(), Optional.empty());
    }

    public IsolatorContext withNamespaces(Set<Namespace> namespaces) {
        return new IsolatorContext(paths, hierarchies, cgroupParent, namespaces, rlimitDefaults, diskCheckInterval,
                cni, dockerVolumes, vms, userNamespaces, gpus);
    }

    public IsolatorContext withRlimitDefaults(List<Rlimit> rlimitDefaults) {
        return new IsolatorContext(paths, hierarchies, cgroupParent, namespaces, rlimitDefaults, diskCheckInterval,
                cni, dockerVolumes, vms, userNamespaces, gpus);
    }

    public IsolatorContext withCni(Cni cni) {
        return new IsolatorContext(paths, hierarchies, cgroupParent, namespaces, rlimitDefaults, diskCheckInterval,
                Optional.of(cni), dockerVolumes, vms, userNamespaces, gpus);
    }

    public IsolatorContext withDockerVolumes(DockerVolumes dockerVolumes) {
        return new IsolatorContext(paths, hierarchies, cgroupParent, namespaces, rlimitDefaults, diskCheckInterval,
                cni, Optional.of(dockerVolumes), vms, userNamespaces, gpus);
    }

    public IsolatorContext withVms(Vms vms) {
        return new IsolatorContext(paths, hierarchies, cgroupParent, namespaces, rlimitDefaults, diskCheckInterval,
                cni, dockerVolumes, Optional.of(vms), userNamespaces, gpus);
    }

    public IsolatorContext withUserNamespaces(UserNamespaceRanges.Source userNamespaces) {
        return new IsolatorContext(paths, hierarchies, cgroupParent, namespaces, rlimitDefaults, diskCheckInterval,
                cni, dockerVolumes, vms, userNamespaces, gpus);
    }

    public IsolatorContext withGpus(Gpus gpus) {
        return new IsolatorContext(paths, hierarchies, cgroupParent, namespaces, rlimitDefaults, diskCheckInterval,
                cni, dockerVolumes, vms, userNamespaces, Optional.of(gpus));
    }
}
