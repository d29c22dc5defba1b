package dev.vessel.launcher.vm;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.gpu.PciAddress;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.VmLaunchInfo;
import dev.vessel.core.model.VmNic;
import dev.vessel.core.model.VmMachine;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.core.vm.VmSizing;
import dev.vessel.launcher.vm.domain.Accelerator;
import dev.vessel.launcher.vm.domain.CgroupPartition;
import dev.vessel.launcher.vm.domain.CpuTuning;
import dev.vessel.launcher.vm.domain.DomainNames;
import dev.vessel.launcher.vm.domain.MachineSpec;
import dev.vessel.launcher.vm.machine.BaseImage;
import dev.vessel.launcher.vm.domain.SoftwareImage;
import dev.vessel.launcher.vm.domain.VmSpec;
import dev.vessel.launcher.vm.domain.VmVolumes;
import dev.vessel.linux.TapDevices;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Resolves the {@link VmSpec} of a domain: the container's own VM options where it gives them, the
 * launcher's defaults otherwise, and the size the host-side isolators decided. {@link #forTask}
 * refuses a bad request, naming the field, before libvirt is touched.
 */
final class VmSpecResolver {
    private static final Pattern TAP_NAME = Pattern.compile("[A-Za-z0-9_.-]{1," + TapDevices.MAX_NAME_LENGTH + "}");
    /** A unicast MAC, lower case: the least significant bit of the first octet clear. */
    private static final Pattern UNICAST_MAC = Pattern.compile("[0-9a-f][02468ace](:[0-9a-f]{2}){5}");

    private final VmLauncherConfig config;
    private final RuntimePaths paths;
    private final Accelerator accelerator;
    private final QemuUser qemuUser;
    /** The cgroup partition the domains run under: it decides how their CPU weight is written. */
    private final CgroupPartition partition;
    /** QEMU's copy of the guest's software image, when the guest has one. */
    private final Optional<SoftwareImage> software;

    VmSpecResolver(VmLauncherConfig config, RuntimePaths paths, Accelerator accelerator, QemuUser qemuUser,
            CgroupPartition partition) {
        this.config = config;
        this.paths = paths;
        this.accelerator = accelerator;
        this.qemuUser = qemuUser;
        this.partition = partition;
        this.software = config.software().map(built ->
                new SoftwareImage(built, paths.vmSoftwareImage(), paths.stateDir(), qemuUser));
    }

    /** Resolves and checks the spec of the plan's container; throws naming the offending field. */
    VmSpec forTask(LaunchPlan plan) throws IOException {
        Path rootfs = VmSpec.requireRootfs(plan.launchInfo().getRootfs());
        return forTask(plan, rootfs, rootfs.startsWith(paths.vmRootfsDir()),
                VmVolumes.plan(plan.launchInfo().getMountsList(), plan.container().config().getVm().getDisksList(),
                        FileShares.of(plan.container().containerDir())));
    }

    /**
     * The spec of a VM pod's domain: sized, networked and given devices as a task's, with no rootfs of its
     * own but {@code share}, where its members' rootfs will be bound (the validator gave it no volumes).
     */
    VmSpec forPod(LaunchPlan plan, Path share) throws IOException {
        return forTask(plan, share, true, VmVolumes.none());
    }

    private VmSpec forTask(LaunchPlan plan, Path rootfs, boolean rootfsMapped, VmVolumes volumes) throws IOException {
        ContainerConfig container = plan.container().config();
        VmOptions vm = container.getVm();
        Path kernel = artifact("vm.kernel", vm.getKernel(), config.kernel(), "kernel");
        Path initrd = artifact("vm.initrd", vm.getInitrd(), config.initrd(), "initramfs");
        String cmdline = vm.getKernelCmdline().isEmpty() ? config.kernelCmdline() : vm.getKernelCmdline();

        VmLaunchInfo size = plan.launchInfo().getVm();
        long memory = size.getMemoryBytes() > 0 ? size.getMemoryBytes() : config.minMemoryBytes();
        if (memory < config.minMemoryBytes()) {
            throw VesselException.invalid("vm.memory_bytes", "a guest needs at least "
                    + VmSizing.wholeMib(config.minMemoryBytes()) + " MiB of memory (" + config.minMemoryBytes() + " bytes), not "
                    + memory + " bytes");
        }
        int vcpus = Math.max(1, size.getVcpus());

        Path dir = plan.container().containerDir();
        return common(DomainNames.forContainer(container.getId()), dir).containerId(container.getId())
                .memoryBytes(memory).vcpus(vcpus).cpu(CpuTuning.of(container.getResources(), partition))
                .kernel(kernel).initrd(initrd).kernelCmdline(cmdline)
                .rootfs(rootfs).rootfsMapped(rootfsMapped).volumes(volumes).nics(nics(size))
                .passthrough(passthrough(size))
                .rootfsServerSocket(vm.getKeepRootfsOwners() && !container.getHostRootfs().isEmpty()
                        ? Optional.of(paths.rootfsServerSocket(dir)) : Optional.empty())
                .build();
    }

    /**
     * Resolves and checks the spec of the plan's full VM (its {@code vm.machine}): the base image is
     * read and checked here (refused naming {@code vm.machine.base_image}); its disk and seed are the
     * launcher's to make. Guest memory is the VM options', else the resources', else the default: no
     * agent's overhead is added, the guest is the whole VM.
     */
    MachineSpec forMachine(LaunchPlan plan) throws IOException {
        ContainerConfig container = plan.container().config();
        VmOptions vm = container.getVm();
        VmMachine machine = vm.getMachine();
        VmLaunchInfo size = plan.launchInfo().getVm();
        long memory = vm.getMemoryBytes() > 0 ? vm.getMemoryBytes()
                : container.getResources().getMemoryBytes() > 0 ? container.getResources().getMemoryBytes()
                : VmSizing.DEFAULT_MEMORY_BYTES;
        BaseImage base = BaseImage.inspect(Path.of(machine.getBaseImage()), machine.getBaseFormat());
        Path dir = plan.container().containerDir();
        Optional<Path> seed = machine.hasCloudInit() ? Optional.of(dir.resolve("seed.iso")) : Optional.empty();
        return new MachineSpec(container.getId(), paths.stateDir(), DomainNames.forContainer(container.getId()),
                UUID.randomUUID(), accelerator, qemuUser, memory, Math.max(1, size.getVcpus()),
                CpuTuning.of(container.getResources(), partition).withLimit(container.getResources().getCpus()),
                Path.of(machine.getDisk()), base, seed,
                paths.consoleLog(dir),
                config.cgroupPartition(),
                VmVolumes.plan(List.of(), vm.getDisksList()).disks(), nics(size), passthrough(size));
    }

    /**
     * The spec of a guest booted ahead of demand: the launcher's kernel, initramfs and command line,
     * {@code share} as its root, its channel and console in {@code dir}, no container yet (its
     * metadata's container id is empty) and the CPU weight of a task without resources ({@link #defaultCpuWeight}).
     */
    VmSpec forWarmGuest(String domainName, Path dir, Path share, long memoryBytes, int vcpus) throws IOException {
        Path kernel = artifact("vm.kernel", "", config.kernel(), "kernel");
        Path initrd = artifact("vm.initrd", "", config.initrd(), "initramfs");
        return common(domainName, dir).containerId("").memoryBytes(Math.max(memoryBytes, config.minMemoryBytes()))
                .vcpus(Math.max(1, vcpus)).kernel(kernel).initrd(initrd).kernelCmdline(config.kernelCmdline())
                .rootfs(share).rootfsMapped(true).cpu(new CpuTuning("", "", defaultCpuWeight(), 0)).build();
    }

    /** The CPU weight a guest made before its task has: a task without resources keeps it, any other sets its own. */
    long defaultCpuWeight() {
        return partition.cpuWeight(Resources.getDefaultInstance());
    }

    /** What every guest's spec takes from the node: a new uuid, the accelerator, QEMU's user, the software image. */
    private VmSpec.Builder common(String domainName, Path dir) throws IOException {
        return VmSpec.builder().stateDir(paths.stateDir()).domainName(domainName).uuid(UUID.randomUUID())
                .accelerator(accelerator).qemuUser(qemuUser).software(software()).agentSocket(paths.agentSocket(dir))
                .consoleLog(paths.consoleLog(dir)).cgroupPartition(config.cgroupPartition())
                .tcgCodeCacheMib(config.tcgCodeCacheMib());
    }

    /** The software image's copy a new domain maps (checked unchanged, made again if it changed). */
    private Optional<VmSpec.Software> software() throws IOException {
        return software.isPresent() ? Optional.of(software.get().current()) : Optional.empty();
    }

    /** The NICs the host-side isolators made, checked: they go into the domain XML. */
    private static List<VmSpec.Nic> nics(VmLaunchInfo size) {
        List<VmSpec.Nic> nics = new ArrayList<>();
        for (int i = 0; i < size.getNicsCount(); i++) {
            VmNic nic = size.getNics(i);
            String at = "launch_info.vm.nics[" + i + "]";
            if (!TAP_NAME.matcher(nic.getTap()).matches()) {
                throw VesselException.internal(at + ".tap", "'" + nic.getTap() + "' is not a tap name", null);
            }
            if (!UNICAST_MAC.matcher(nic.getGuest().getMac()).matches()) {
                throw VesselException.internal(at + ".guest.mac", "'" + nic.getGuest().getMac()
                        + "' is not a unicast MAC address in lower case", null);
            }
            nics.add(new VmSpec.Nic(nic.getTap(), nic.getGuest().getMac()));
        }
        return nics;
    }

    /** The host PCI devices {@code vm/gpu} gave the VM, checked: they go into the domain XML. */
    private static VmSpec.Passthrough passthrough(VmLaunchInfo size) {
        List<PciAddress> devices = new ArrayList<>();
        for (int i = 0; i < size.getPassthroughDevicesCount(); i++) {
            String address = size.getPassthroughDevices(i);
            devices.add(PciAddress.parse(address).orElseThrow(() -> VesselException.internal(
                    "launch_info.vm.passthrough_devices", "'" + address + "' is not a PCI address", null)));
        }
        return new VmSpec.Passthrough(devices, size.getMmio64WindowBytes());
    }

    /** The container's own artifact when it names one, else the launcher's; a readable file either way. */
    private static Path artifact(String field, String own, Path fallback, String what) {
        Path path = own.isEmpty() ? fallback : Path.of(own);
        if (!own.isEmpty() && !path.isAbsolute()) {
            throw VesselException.invalid(field, "must be an absolute path, not '" + own + "'");
        }
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            String problem = "the guest " + what + " " + path + " is not a readable file";
            // A missing default is the node's problem, not the request's.
            throw own.isEmpty()
                    ? new VesselException(ErrorCode.UNAVAILABLE, field, problem + " (the node's default guest "
                            + what + "; build the guest images)")
                    : VesselException.invalid(field, problem);
        }
        return path;
    }

}
