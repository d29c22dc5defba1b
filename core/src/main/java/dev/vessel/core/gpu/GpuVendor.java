package dev.vessel.core.gpu;

import java.util.Arrays;
import java.util.Optional;

/** The GPU vendors discovery looks for, by PCI vendor id. */
public enum GpuVendor {
    NVIDIA(0x10de), AMD(0x1002), INTEL(0x8086);

    private final int pciId;

    GpuVendor(int pciId) {
        this.pciId = pciId;
    }

    public int pciId() {
        return pciId;
    }

    public static Optional<GpuVendor> of(int pciId) {
        return Arrays.stream(values()).filter(v -> v.pciId == pciId).findFirst();
    }
}
