package dev.vessel.launcher.vm;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.linux.TapDevices;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.VmLaunchInfo;
import dev.vessel.core.model.VmNic;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.vm.VmSizing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Everything the domain of one VM task is made of, resolved and checked: the container's own VM
 * options where it gives them, the launcher's defaults otherwise, and the size the host-side
 * isolators decided. {@link #from} refuses a bad spec before libvirt is touched.
 *
 * @param stateDir        the daemon's state dir, written into the domain's metadata so that two daemons
 *                        on one host never take each other's domains for orphans
 * @param cgroupPartition the cgroup partition the domain's QEMU runs under (see {@link CgroupPartition})
 * @param volumes         the task's volume shares and disks, and what the guest mounts of them
 * @param nics            the guest's NICs, in order, each on a tap that exists before the domain starts
 */
public record VmSpec(
        String containerId,
        Path stateDir,
        String domainName,
        UUID uuid,
        Accelerator accelerator,
        long memoryBytes,
        int vcpus,
        Path kernel,
        Path initrd,
        String kernelCmdline,
        Path rootfs,
        Path agentSocket,
        Path consoleLog,
        String cgroupPartition,
        VmVolumes volumes,
        List<Nic> nics) {

    /** A virtio NIC with this MAC on the host's existing tap {@code tap} (see the {@code vm/network} isolator). */
    public record Nic(String tap, String mac) {
        public Nic {
            Objects.requireNonNull(tap, "tap");
            Objects.requireNonNull(mac, "mac");
        }
    }

    private static final Pattern TAP_NAME = Pattern.compile("[A-Za-z0-9_.-]{1," + TapDevices.MAX_NAME_LENGTH + "}");
    /** A unicast MAC, lower case: the least significant bit of the first octet clear. */
    private static final Pattern UNICAST_MAC = Pattern.compile("[0-9a-f][02468ace](:[0-9a-f]{2}){5}");

    public VmSpec {
        Objects.requireNonNull(containerId, "containerId");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(domainName, "domainName");
        Objects.requireNonNull(uuid, "uuid");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(kernelCmdline, "kernelCmdline");
        Objects.requireNonNull(rootfs, "rootfs");
        Objects.requireNonNull(agentSocket, "agentSocket");
        Objects.requireNonNull(consoleLog, "consoleLog");
        Objects.requireNonNull(cgroupPartition, "cgroupPartition");
        Objects.requireNonNull(volumes, "volumes");
        nics = List.copyOf(nics);
        if (accelerator == Accelerator.AUTO) {
            throw new IllegalArgumentException("the accelerator must be resolved to KVM or TCG");
        }
    }

    /** Resolves and checks the spec of the plan's container; throws naming the offending field. */
    public static VmSpec from(LaunchPlan plan, VmLauncherConfig config, RuntimePaths paths, Accelerator accelerator) {
        ContainerConfig container = plan.container().config();
        VmOptions vm = container.getVm();
        Path kernel = artifact("vm.kernel", vm.getKernel(), config.kernel(), "kernel");
        Path initrd = artifact("vm.initrd", vm.getInitrd(), config.initrd(), "initramfs");
        String cmdline = vm.getKernelCmdline().isEmpty() ? config.kernelCmdline() : vm.getKernelCmdline();

        VmLaunchInfo size = plan.launchInfo().getVm();
        long memory = size.getMemoryBytes() > 0 ? size.getMemoryBytes() : config.minMemoryBytes();
        if (memory < config.minMemoryBytes()) {
            throw VesselException.invalid("vm.memory_bytes", "a guest needs at least "
                    + mib(config.minMemoryBytes()) + " MiB of memory (" + config.minMemoryBytes() + " bytes), not "
                    + memory + " bytes");
        }
        int vcpus = Math.max(1, size.getVcpus());

        String rootfs = plan.launchInfo().getRootfs();
        if (rootfs.isEmpty() || !Files.isDirectory(Path.of(rootfs))) {
            throw VesselException.invalid("root", rootfs.isEmpty()
                    ? "a VM task needs a root filesystem (an image or host_rootfs) to share with its guest"
                    : "the root filesystem " + rootfs + " is not a directory");
        }
        VmVolumes volumes = VmVolumes.plan(plan.launchInfo().getMountsList(), vm.getDisksList());
        Path dir = plan.container().containerDir();
        return new VmSpec(container.getId(), paths.stateDir(), DomainXml.domainName(container.getId()),
                UUID.randomUUID(), accelerator, memory, vcpus, kernel, initrd, cmdline, Path.of(rootfs),
                paths.agentSocket(dir), paths.consoleLog(dir), config.cgroupPartition(), volumes,
                nics(size));
    }

    /**
     * The spec of a guest booted ahead of demand: the launcher's kernel, initramfs and command line,
     * its share and channel in {@code dir}, and no container yet (its metadata's container id is empty).
     */
    static VmSpec warm(String domainName, Path dir, long memoryBytes, int vcpus, VmLauncherConfig config,
            RuntimePaths paths, Accelerator accelerator) {
        Path kernel = artifact("vm.kernel", "", config.kernel(), "kernel");
        Path initrd = artifact("vm.initrd", "", config.initrd(), "initramfs");
        return new VmSpec("", paths.stateDir(), domainName, UUID.randomUUID(), accelerator,
                Math.max(memoryBytes, config.minMemoryBytes()), Math.max(1, vcpus), kernel, initrd,
                config.kernelCmdline(), WarmGuest.share(dir), paths.agentSocket(dir), paths.consoleLog(dir),
                config.cgroupPartition(), VmVolumes.none(), List.of());
    }

    /** The NICs the host-side isolators made, checked: they go into the domain XML. */
    private static List<Nic> nics(VmLaunchInfo size) {
        List<Nic> nics = new ArrayList<>();
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
            nics.add(new Nic(nic.getTap(), nic.getGuest().getMac()));
        }
        return nics;
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

    private static long mib(long bytes) {
        return (bytes + VmSizing.MIB - 1) / VmSizing.MIB;
    }
}
