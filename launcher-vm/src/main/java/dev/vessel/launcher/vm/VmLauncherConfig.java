package dev.vessel.launcher.vm;

import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.vm.VmSizing;
import dev.vessel.launcher.vm.domain.Accelerator;
import dev.vessel.launcher.vm.domain.CgroupPartition;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How the VM launcher builds and talks to its guests.
 *
 * @param libvirtUri        the libvirt connection, {@code qemu:///system} by default
 * @param kernel            the default guest kernel (an uncompressed {@code vmlinux} boots fastest)
 * @param initrd            the default guest initramfs (cpio) holding the guest agent
 * @param software          the software image that initramfs mounts from the guest's NVDIMM (the JRE, the agent),
 *                          none when the initramfs holds everything
 * @param kernelCmdline     the default kernel command line
 * @param accelerator       KVM, TCG, or AUTO to pick what the host supports
 * @param minMemoryBytes    guests smaller than this are refused (the initramfs must unpack and the agent start)
 * @param helloTimeout      how long a booting guest may take to say hello (generous: TCG boots in seconds)
 * @param requestTimeout    how long the guest may take to answer a request (a launch mounts and isolates)
 * @param heartbeatInterval how often the host pings a running guest
 * @param silenceLimit      a guest that answers nothing for this long is considered lost
 * @param cgroupPartition   the cgroup partition the domains run under ({@code <resource><partition>}), one level
 *                          such as {@code /vessel-vms}: the launcher creates it and removes it once empty
 * @param tcgCodeCacheMib   under TCG, the size of each guest's translated-code cache in MiB (QEMU's {@code tb-size});
 *                          0: QEMU's default. A smaller cache is memory a guest does not hold, paid for in time
 *                          spent translating again
 */
public record VmLauncherConfig(
        String libvirtUri,
        Path kernel,
        Path initrd,
        Optional<Path> software,
        String kernelCmdline,
        Accelerator accelerator,
        long minMemoryBytes,
        Duration helloTimeout,
        Duration requestTimeout,
        Duration heartbeatInterval,
        Duration silenceLimit,
        String cgroupPartition,
        int tcgCodeCacheMib) {

    public static final String DEFAULT_LIBVIRT_URI = "qemu:///system";
    /**
     * As the images module builds the guest: serial console for the log; panic=-1 reboots at once,
     * which ends the domain (on_reboot destroy); quiet, since a kernel log on an emulated UART is slow.
     */
    public static final String DEFAULT_KERNEL_CMDLINE = "console=ttyS0 panic=-1 quiet";
    public static final long MIB = VmSizing.MIB;
    /** Not libvirt's default /machine, which libvirt leaves behind in every hierarchy. */
    public static final String DEFAULT_CGROUP_PARTITION = "/vessel-vms";

    public VmLauncherConfig {
        Objects.requireNonNull(libvirtUri, "libvirtUri");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(software, "software");
        Objects.requireNonNull(kernelCmdline, "kernelCmdline");
        Objects.requireNonNull(accelerator, "accelerator");
        Objects.requireNonNull(helloTimeout, "helloTimeout");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
        Objects.requireNonNull(silenceLimit, "silenceLimit");
        Objects.requireNonNull(cgroupPartition, "cgroupPartition");
        if (minMemoryBytes <= 0) {
            throw new IllegalArgumentException("minMemoryBytes must be positive");
        }
        if (tcgCodeCacheMib < 0) {
            throw new IllegalArgumentException("tcgCodeCacheMib must not be negative");
        }
        if (!CgroupPartition.isValid(cgroupPartition)) {
            throw new IllegalArgumentException("cgroupPartition must be one absolute level such as "
                    + DEFAULT_CGROUP_PARTITION + ", not '" + cgroupPartition + "'");
        }
    }

    /**
     * The defaults: the guest artifacts under the state dir ({@code guest/vmlinux},
     * {@code guest/initramfs.cpio}), the accelerator picked at run time, timeouts sized for TCG.
     */
    public static VmLauncherConfig defaults(RuntimePaths paths) {
        Path guest = paths.guestArtifactsDir();
        return new VmLauncherConfig(DEFAULT_LIBVIRT_URI, GuestArtifacts.kernelIn(guest), GuestArtifacts.initrdIn(guest),
                Optional.empty(), DEFAULT_KERNEL_CMDLINE, Accelerator.AUTO, VmSizing.DEFAULT_MIN_MEMORY_BYTES, Duration.ofSeconds(120),
                Duration.ofSeconds(60), Duration.ofSeconds(5), Duration.ofSeconds(60), DEFAULT_CGROUP_PARTITION, 0);
    }

    /** How the host-side {@code vm/resources} isolator sizes this launcher's guests. */
    public VmSizing sizing() {
        return new VmSizing(minMemoryBytes, kernel, initrd);
    }

    public VmLauncherConfig withArtifacts(Path kernel, Path initrd) {
        return new VmLauncherConfig(libvirtUri, kernel, initrd, software, kernelCmdline, accelerator, minMemoryBytes,
                helloTimeout, requestTimeout, heartbeatInterval, silenceLimit, cgroupPartition, tcgCodeCacheMib);
    }

    public VmLauncherConfig withSoftware(Optional<Path> software) {
        return new VmLauncherConfig(libvirtUri, kernel, initrd, software, kernelCmdline, accelerator, minMemoryBytes,
                helloTimeout, requestTimeout, heartbeatInterval, silenceLimit, cgroupPartition, tcgCodeCacheMib);
    }

    public VmLauncherConfig withLibvirtUri(String libvirtUri) {
        return new VmLauncherConfig(libvirtUri, kernel, initrd, software, kernelCmdline, accelerator, minMemoryBytes,
                helloTimeout, requestTimeout, heartbeatInterval, silenceLimit, cgroupPartition, tcgCodeCacheMib);
    }

    public VmLauncherConfig withKernelCmdline(String kernelCmdline) {
        return new VmLauncherConfig(libvirtUri, kernel, initrd, software, kernelCmdline, accelerator, minMemoryBytes,
                helloTimeout, requestTimeout, heartbeatInterval, silenceLimit, cgroupPartition, tcgCodeCacheMib);
    }

    public VmLauncherConfig withAccelerator(Accelerator accelerator) {
        return new VmLauncherConfig(libvirtUri, kernel, initrd, software, kernelCmdline, accelerator, minMemoryBytes,
                helloTimeout, requestTimeout, heartbeatInterval, silenceLimit, cgroupPartition, tcgCodeCacheMib);
    }

    /** Only tests lower the minimum, to show a refusal without a large guest. */
    VmLauncherConfig withMinMemoryBytes(long minMemoryBytes) {
        return new VmLauncherConfig(libvirtUri, kernel, initrd, software, kernelCmdline, accelerator, minMemoryBytes,
                helloTimeout, requestTimeout, heartbeatInterval, silenceLimit, cgroupPartition, tcgCodeCacheMib);
    }

    public VmLauncherConfig withCgroupPartition(String cgroupPartition) {
        return new VmLauncherConfig(libvirtUri, kernel, initrd, software, kernelCmdline, accelerator, minMemoryBytes,
                helloTimeout, requestTimeout, heartbeatInterval, silenceLimit, cgroupPartition, tcgCodeCacheMib);
    }

    public VmLauncherConfig withTcgCodeCacheMib(int tcgCodeCacheMib) {
        return new VmLauncherConfig(libvirtUri, kernel, initrd, software, kernelCmdline, accelerator, minMemoryBytes,
                helloTimeout, requestTimeout, heartbeatInterval, silenceLimit, cgroupPartition, tcgCodeCacheMib);
    }
}
