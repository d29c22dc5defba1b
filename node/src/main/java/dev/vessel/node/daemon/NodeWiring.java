package dev.vessel.node.daemon;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.model.GpuAllocation;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.userns.UserNamespaceMode;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.core.volume.NamedVolumes;
import dev.vessel.fetcher.ArtifactCache;
import dev.vessel.fetcher.Fetchers;
import dev.vessel.fetcher.Prefetcher;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.IsolatorContext;
import dev.vessel.isolators.network.PluginRunner;
import dev.vessel.isolators.volume.DockerVolumeIsolator;
import dev.vessel.launcher.process.LogReader;
import dev.vessel.launcher.process.ProcessLauncher;
import dev.vessel.launcher.vm.GuestArtifacts;
import dev.vessel.launcher.vm.VmLauncher;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.launcher.vm.domain.Accelerator;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.node.api.EventLog;
import dev.vessel.node.api.NodeInfo;
import dev.vessel.node.api.NodeServices;
import dev.vessel.node.machines.BaseImages;
import dev.vessel.node.machines.MachineRecords;
import dev.vessel.node.machines.MachineSnapshots;
import dev.vessel.node.machines.Machines;
import dev.vessel.node.network.CniNetworks;
import dev.vessel.provisioner.ImageProvisioner;
import dev.vessel.provisioner.registry.DockerConfigCredentials;
import dev.vessel.provisioner.registry.RegistryTransport;
import dev.vessel.provisioner.registry.ReloadingCredentials;
import dev.vessel.provisioner.rootfs.RootfsBackends;
import dev.vessel.provisioner.store.BlobHolder;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Builds this node from its configuration: the process launcher, the VM launcher, the host's
 * isolators from the {@link IsolatorCatalog} (those asked for, or every one this host can run), the
 * image provisioner and the fetchers, plugged into the one containerizer, then recovered. The
 * daemon calls it once it holds the state directory.
 */
final class NodeWiring {
    private static final System.Logger LOG = System.getLogger(NodeWiring.class.getName());

    private NodeWiring() {
    }

    /**
     * The node, recovered (what a previous daemon left is found again or cleaned up), with its warm
     * pool of VM guests booting and its guest template being built when configured: after recovery, whose orphan sweep would
     * otherwise meet guests it does not know.
     */
    static NodeServices start(DaemonConfig config) throws IOException {
        Wired wired = build(config);
        wired.services().containerizer().recover();
        if (config.vmWarmPool() > 0) {
            wired.vms().startWarmPool(config.vmWarmPool());
        }
        if (config.vmTemplates()) {
            wired.vms().startTemplates();
        }
        return wired.services();
    }

    private record Wired(NodeServices services, VmLauncher vms) {
    }

    private static Wired build(DaemonConfig config) throws IOException {
        RuntimePaths paths = config.paths();
        // their blobs survive the provisioner's garbage collection
        ArtifactCache artifacts = new ArtifactCache(paths);
        MachineRecords machines = new MachineRecords(paths);
        machines.removeUnfinished();
        NamedVolumes volumes = new NamedVolumes(paths);
        volumes.recover();
        CniNetworks networks = new CniNetworks(config.cniConfigDir(), paths.networkLeasesDir());
        networks.recover();
        ImageProvisioner images = new ImageProvisioner(paths,
                new ReloadingCredentials(DockerConfigCredentials.defaultLocation(System.getenv())),
                new RegistryTransport.Options(new HashSet<>(config.insecureRegistries()),
                        RegistryTransport.Options.DEFAULTS.maxAttempts(), RegistryTransport.Options.DEFAULTS.firstBackoff()),
                RootfsBackends.detect(paths), BlobHolder.allOf(artifacts, machines));
        Launcher processes = ProcessLauncher.withBundledHelper(paths).keepingSpareHelper();
        VmLauncher vms = new VmLauncher(paths, vmConfig(config));
        CgroupHierarchies hierarchies = CgroupHierarchies.detect();
        Optional<String> unconfinedDevices = HostProbe.deviceConfinementUnavailable(hierarchies);
        HostProbe.requireDeviceConfinement(unconfinedDevices, config.allowUnconfinedDevices());
        unconfinedDevices.ifPresent(why -> LOG.log(Level.WARNING,
                "containers' devices are not confined (--allow-unconfined-devices): {0}", why));
        config.nodeLimits().applyTo(hierarchies, config.cgroupParent());
        GpuAllocator gpus = new GpuAllocator(config.gpuHost().discovery().discover(), paths);
        List<Isolator> isolators = isolators(config, hierarchies, vms, gpus);

        EventLog events = new EventLog();
        NodeCapacity capacity = NodeCapacity.detect();
        UnifiedContainerizer.Builder builder = UnifiedContainerizer.builder(paths, new ConfigValidator(capacity))
                .launcher(processes)
                .launcher(vms)
                .isolators(isolators)
                .provisioner(images)
                .userNamespaceDefault(config.usernsDefault())
                .events(events);
        Set<GpuAllocation.Use> gpuUses = EnumSet.noneOf(GpuAllocation.Use.class);
        if (isolators.stream().anyMatch(i -> i.name().equals("gpu/nvidia"))) {
            gpuUses.add(GpuAllocation.Use.DEVICES);
        }
        if (isolators.stream().anyMatch(i -> i.name().equals("vm/gpu"))) {
            gpuUses.add(GpuAllocation.Use.VFIO);
        }
        builder.gpus(gpus, gpuUses);
        if (config.usernsDefault() == UserNamespaceMode.AUTO
                && isolators.stream().noneMatch(i -> i.name().equals("namespaces/user"))) {
            throw VesselException.invalid("userns_default", "auto needs the namespaces/user isolator, which the"
                    + " configured isolation leaves out");
        }
        List<Prefetcher> fetchers = Fetchers.all(artifacts, new Fetchers.Options(Duration.ofSeconds(10),
                Duration.ofMinutes(5), config.fetcherFileRoots()), Optional.of(images));
        fetchers.forEach(builder::fetcher);

        boolean kvm = Accelerator.kvmOpens(Accelerator.DEV_KVM);
        boolean virt = Accelerator.cpuHasVirtualisation(Accelerator.CPUINFO);
        NodeInfo info = new NodeInfo(version(), Runtime.version().toString(), HostProbe.kernelRelease(), hierarchies.mode(),
                vms.accelerator().name().toLowerCase(Locale.ROOT), kvm, virt, List.of(processes.name(), vms.name()),
                new NodeInfo.Isolators(namesApplyingTo(isolators, Isolation.PROCESS),
                        namesApplyingTo(isolators, Isolation.VM),
                        IsolatorCatalog.names(EnumSet.of(IsolatorCatalog.Placement.GUEST))),
                paths.stateDir().toString(), paths.runDir().toString(), List.of());
        UnifiedContainerizer containerizer = builder.build();
        Machines vmMachines = new Machines(containerizer, paths, machines, new BaseImages(paths, fetchers),
                vms::serialConsole, capacity.cpus());
        return new Wired(new NodeServices(containerizer, images, new LogReader(paths), paths, info, vms, vmMachines,
                new MachineSnapshots(vmMachines, paths, vms::runningMachineDisk), gpus,
                networks, volumes, events), vms);
    }

    /**
     * The VM launcher's guest: the artifacts the images module describes in the configured directory;
     * without them, VM tasks are refused at launch naming the missing file (process containers still run).
     */
    private static VmLauncherConfig vmConfig(DaemonConfig config) throws IOException {
        Path dir = config.guestArtifactsDir();
        VmLauncherConfig defaults = VmLauncherConfig.defaults(config.paths())
                .withArtifacts(GuestArtifacts.kernelIn(dir), GuestArtifacts.initrdIn(dir))
                .withAccelerator(Accelerator.valueOf(config.accelerator().toUpperCase(Locale.ROOT)))
                .withLibvirtUri(config.libvirtUri())
                .withTcgCodeCacheMib(config.vmTcgCodeCacheMib())
                // the domains' cgroups go beside the containers' own, so one daemon's cgroups sit together
                .withCgroupPartition("/" + config.cgroupParent().replaceAll("[^A-Za-z0-9_-]", "-") + "-vms");
        if (!Files.exists(GuestArtifacts.description(dir))) {
            LOG.log(Level.WARNING, "no guest artifacts in {0}: VM tasks will be refused until they are built", dir);
            return defaults;
        }
        return GuestArtifacts.load(dir).applyTo(defaults);
    }

    /**
     * The host's chain: the isolators the configuration names, else every host isolator this host can run.
     * The node's GPUs go to gpu/nvidia and vm/gpu unless the configuration leaves both out (then
     * cgroups/devices does not wait for gpu/nvidia either).
     */
    private static List<Isolator> isolators(DaemonConfig config, CgroupHierarchies hierarchies, VmLauncher vms,
            GpuAllocator gpus) {
        IsolatorContext context = IsolatorContext.of(config.paths(), hierarchies, config.cgroupParent())
                .withCni(new IsolatorContext.Cni(config.cniConfigDir(), config.cniPluginDirs(), PluginRunner.DIRECT))
                .withDockerVolumes(new IsolatorContext.DockerVolumes(config.dockerVolumePluginDir(),
                        DockerVolumeIsolator.DEFAULT_TIMEOUT))
                .withVms(new IsolatorContext.Vms(vms.config().sizing(), vms, vms.qemuUser()))
                .withUserNamespaces(config.userNamespaces());
        boolean processes = config.isolation().map(names -> names.contains("gpu/nvidia")).orElse(true);
        if (processes || config.isolation().map(names -> names.contains("vm/gpu")).orElse(true)) {
            context = context.withGpus(new IsolatorContext.Gpus(gpus, config.gpuHost().driverFiles(), processes));
        }
        return config.isolation().isPresent()
                ? IsolatorCatalog.build(context, IsolatorCatalog.HOST, config.isolation().get())
                : IsolatorCatalog.build(context, IsolatorCatalog.HOST);
    }

    /** The names of the chain's isolators that take part in tasks of this isolation class, in chain order. */
    private static List<String> namesApplyingTo(List<Isolator> chain, Isolation isolation) {
        return chain.stream().filter(i -> i.appliesTo(isolation)).map(Isolator::name).toList();
    }

    static String version() {
        String v = NodeWiring.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev"; // no manifest version when run from classes
    }
}
