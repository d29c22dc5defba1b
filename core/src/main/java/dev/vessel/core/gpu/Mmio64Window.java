package dev.vessel.core.gpu;

import java.util.Collection;

/**
 * The 64-bit MMIO window (q35's {@code pci-hole64}) a VM needs for the devices passed through to it. A GPU's
 * BARs are large (an H100's BAR1 is 128 GiB) and QEMU's default window, 32 GiB, would leave them unmapped.
 *
 * <p>Each device sits behind its own root port, whose bridge window holds its BARs: a power of two at least
 * their sum (BARs are powers of two, naturally aligned). Windows that are powers of two, sorted by size,
 * pack without a gap into a power of two at least their sum: that is the VM's window, and never less than
 * QEMU's default.
 */
public final class Mmio64Window {
    /** QEMU's q35 default {@code pci-hole64-size}: what a VM without passed-through devices gets. */
    public static final long DEFAULT_BYTES = 32L << 30;

    private Mmio64Window() {
    }

    public static long bytesFor(Collection<PciDevice> devices) {
        long sum = 0;
        for (PciDevice device : devices) {
            sum += powerOfTwoAtLeast(device.mmio64Bytes());
        }
        return Math.max(DEFAULT_BYTES, powerOfTwoAtLeast(sum));
    }

    static long powerOfTwoAtLeast(long bytes) {
        return bytes <= 1 ? bytes : Long.highestOneBit(bytes - 1) << 1;
    }
}
