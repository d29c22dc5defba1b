package dev.vessel.node.daemon;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.fetcher.ArtifactCache;
import dev.vessel.fetcher.Fetchers;
import dev.vessel.isolators.cgroups.CgroupHierarchies;
import dev.vessel.isolators.cgroups.CgroupsIsolator;
import dev.vessel.isolators.cgroups.CpuIsolator;
import dev.vessel.isolators.cgroups.DevicesIsolator;
import dev.vessel.isolators.cgroups.MemoryIsolator;
import dev.vessel.isolators.cgroups.PidsIsolator;
import dev.vessel.isolators.disk.DiskDuIsolator;
import dev.vessel.isolators.filesystem.LinuxFilesystemIsolator;
import dev.vessel.isolators.linux.LinuxCapabilitiesIsolator;
import dev.vessel.isolators.namespaces.NamespacesIsolator;
import dev.vessel.isolators.network.CniIsolator;
import dev.vessel.isolators.network.PluginRunner;
import dev.vessel.isolators.posix.PosixRlimitsIsolator;
import dev.vessel.isolators.volume.DockerVolumeIsolator;
import dev.vessel.launcher.process.LogReader;
import dev.vessel.launcher.process.ProcessLauncher;
import dev.vessel.launcher.vm.GuestArtifacts;
import dev.vessel.launcher.vm.VmLauncher;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.launcher.vm.VmNetworkIsolator;
import dev.vessel.launcher.vm.VmResourcesIsolator;
import dev.vessel.launcher.vm.VmRootfsIsolator;
import dev.vessel.launcher.vm.domain.Accelerator;
import dev.vessel.node.api.NodeInfo;
import dev.vessel.node.api.NodeServices;
import dev.vessel.provisioner.ImageProvisioner;
import dev.vessel.provisioner.registry.DockerConfigCredentials;
import dev.vessel.provisioner.registry.RegistryTransport;
import dev.vessel.provisioner.rootfs.RootfsBackends;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Builds this node from its configuration: the process launcher, every isolator this host can run,
 * the image provisioner and the fetchers, plugged into the one containerizer, then recovered. The
 * daemon calls it once it holds the state directory.
 */
final class NodeWiring {
    private static final System.Logger LOG = System.getLogger(NodeWiring.class.getName());
    private static final Duration DISK_CHECK_INTERVAL = Duration.ofSeconds(15);

    private NodeWiring() {
    }

    /**
     * The node, recovered (what a previous daemon left is found again or cleaned up), with its warm
     * pool of VM guests booting when one is configured: after recovery, whose orphan sweep would
     * otherwise meet guests it does not know.
     */
    static NodeServices start(DaemonConfig config) throws IOException {
        Wired wired = build(config);
        wired.services().containerizer().recover();
        if (config.vmWarmPool() > 0) {
            wired.vms().startWarmPool(config.vmWarmPool());
        }
        return wired.services();
    }

    private record Wired(NodeServices services, VmLauncher vms) {
    }

    private static Wired build(DaemonConfig config) throws IOException {
        RuntimePaths paths = config.paths();
        ArtifactCache artifacts = new ArtifactCache(paths); // its blobs survive the provisioner's garbage collection
        ImageProvisioner images = new ImageProvisioner(paths,
                DockerConfigCredentials.load(DockerConfigCredentials.defaultLocation(System.getenv())),
                new RegistryTransport.Options(new HashSet<>(config.insecureRegistries()),
                        RegistryTransport.Options.DEFAULTS.maxAttempts(), RegistryTransport.Options.DEFAULTS.firstBackoff()),
                RootfsBackends.detect(paths), artifacts);
        Launcher processes = ProcessLauncher.withBundledHelper(paths);
        VmLauncher vms = new VmLauncher(paths, vmConfig(config));
        CgroupHierarchies hierarchies = CgroupHierarchies.detect();
        List<Isolator> isolators = isolators(config, hierarchies);
        isolators.add(new VmResourcesIsolator(vms));
        isolators.add(new VmRootfsIsolator());
        isolators.add(new VmNetworkIsolator(paths)); // connects the guest to the interfaces network/cni made

        UnifiedContainerizer.Builder builder = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(processes)
                .launcher(vms)
                .isolators(isolators)
                .provisioner(images);
        Fetchers.all(artifacts, new Fetchers.Options(Duration.ofSeconds(10), Duration.ofMinutes(5), config.fetcherFileRoots()),
                Optional.of(images)).forEach(builder::fetcher);

        boolean kvm = Accelerator.kvmOpens(Accelerator.DEV_KVM);
        boolean virt = Accelerator.cpuHasVirtualisation(Accelerator.CPUINFO);
        NodeInfo info = new NodeInfo(version(), Runtime.version().toString(), HostProbe.kernelRelease(), hierarchies.mode(),
                vms.accelerator().name().toLowerCase(Locale.ROOT), kvm, virt, List.of(processes.name(), vms.name()),
                isolators.stream().map(Isolator::name).toList(),
                paths.stateDir().toString(), paths.runDir().toString());
        return new Wired(new NodeServices(builder.build(), images, new LogReader(paths), paths, info, vms), vms);
    }

    /**
     * The VM launcher's guest: the artifacts the images module describes in the configured directory;
     * without them, VM tasks are refused at launch naming the missing file (process containers still run).
     */
    private static VmLauncherConfig vmConfig(DaemonConfig config) throws IOException {
        Path dir = config.guestArtifactsDir();
        VmLauncherConfig defaults = VmLauncherConfig.defaults(config.paths())
                .withArtifacts(dir.resolve("vmlinux"), dir.resolve("initramfs.cpio"))
                .withAccelerator(Accelerator.valueOf(config.accelerator().toUpperCase(Locale.ROOT)))
                .withLibvirtUri(config.libvirtUri())
                // the domains' cgroups go beside the containers' own, so one daemon's cgroups sit together
                .withCgroupPartition("/" + config.cgroupParent().replaceAll("[^A-Za-z0-9_-]", "-") + "-vms");
        if (!Files.exists(dir.resolve(GuestArtifacts.FILE))) {
            LOG.log(Level.WARNING, "no guest artifacts in {0}: VM tasks will be refused until they are built", dir);
            return defaults;
        }
        return GuestArtifacts.load(dir).applyTo(defaults);
    }

    private static List<Isolator> isolators(DaemonConfig config, CgroupHierarchies hierarchies) {
        RuntimePaths paths = config.paths();
        List<Isolator> all = new ArrayList<>();
        if (hierarchies.all().isEmpty()) {
            LOG.log(Level.WARNING, "no cgroup hierarchy is mounted: containers run without resource limits");
        } else {
            CgroupsIsolator cgroups = new CgroupsIsolator(hierarchies, config.cgroupParent());
            all.add(cgroups);
            addIfAvailable(all, () -> new MemoryIsolator(cgroups));
            addIfAvailable(all, () -> new CpuIsolator(cgroups));
            addIfAvailable(all, () -> new PidsIsolator(cgroups));
            addIfAvailable(all, () -> new DevicesIsolator(hierarchies));
        }
        all.add(new NamespacesIsolator());
        all.add(new LinuxFilesystemIsolator(paths));
        all.add(new LinuxCapabilitiesIsolator());
        all.add(new PosixRlimitsIsolator());
        all.add(new DockerVolumeIsolator(paths, config.dockerVolumePluginDir(), DockerVolumeIsolator.DEFAULT_TIMEOUT));
        all.add(new DiskDuIsolator(paths, DISK_CHECK_INTERVAL));
        all.add(new CniIsolator(config.cniConfigDir(), config.cniPluginDirs(), paths.cniStateDir(),
                PluginRunner.DIRECT));
        return all;
    }

    /** An isolator this host cannot run (a controller it does not mount) is left out, with a warning. */
    private static void addIfAvailable(List<Isolator> all, Supplier<Isolator> isolator) {
        try {
            all.add(isolator.get());
        } catch (VesselException e) {
            if (e.code() != ErrorCode.UNAVAILABLE) {
                throw e;
            }
            LOG.log(Level.WARNING, "isolator left out: {0}", e.getMessage());
        }
    }

    static String version() {
        String v = NodeWiring.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev"; // no manifest version when run from classes
    }
}
