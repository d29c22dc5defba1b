package dev.vessel.launcher.vm.domain;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Pattern;

/**
 * How QEMU runs the guest: KVM (hardware virtualisation) or TCG (emulation, seconds slower to boot).
 * {@link #AUTO} picks KVM only when the host can really do it: {@code /dev/kvm} opens read-write and
 * the CPU advertises vmx (Intel) or svm (AMD). A device node alone is not enough: a nested VM may
 * show {@code /dev/kvm} without the CPU flags, and KVM then fails at domain start.
 */
public enum Accelerator {
    AUTO,
    KVM,
    TCG;

    public static final Path DEV_KVM = Path.of("/dev/kvm");
    public static final Path CPUINFO = Path.of("/proc/cpuinfo");
    private static final Pattern VIRTUALISATION_FLAG = Pattern.compile("(?m)^flags\\s*:.*\\b(vmx|svm)\\b");

    /** KVM or TCG: this one if forced, else what the host supports. */
    public Accelerator resolve() {
        return resolve(DEV_KVM, CPUINFO);
    }

    /** As {@link #resolve()}, with the device and cpuinfo files given (tests use fakes). */
    Accelerator resolve(Path devKvm, Path cpuinfo) {
        if (this != AUTO) {
            return this;
        }
        return kvmOpens(devKvm) && cpuHasVirtualisation(cpuinfo) ? KVM : TCG;
    }

    /** The libvirt domain type that selects this accelerator. */
    public String domainType() {
        return switch (this) {
            case KVM -> "kvm";
            case TCG -> "qemu";
            case AUTO -> throw new IllegalStateException("resolve() AUTO before asking for a domain type");
        };
    }

    /** Whether the KVM device opens read-write (it may exist and still be refused). */
    public static boolean kvmOpens(Path devKvm) {
        try {
            FileChannel.open(devKvm, StandardOpenOption.READ, StandardOpenOption.WRITE).close();
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** Whether the CPU flags in {@code cpuinfo} show hardware virtualisation (vmx or svm). */
    public static boolean cpuHasVirtualisation(Path cpuinfo) {
        try {
            return VIRTUALISATION_FLAG.matcher(Files.readString(cpuinfo)).find();
        } catch (IOException e) {
            return false;
        }
    }
}
