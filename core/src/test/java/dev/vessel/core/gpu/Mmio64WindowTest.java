package dev.vessel.core.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class Mmio64WindowTest {
    private static final long GIB = 1L << 30;

    @Test
    void withoutBigBarsAVmKeepsQemusDefaultWindow() {
        assertEquals(32 * GIB, Mmio64Window.bytesFor(List.of()));
        assertEquals(32 * GIB, Mmio64Window.bytesFor(List.of(device(0), device(256L << 20))));
    }

    @Test
    void eachDevicesBarsRoundUpToAPowerOfTwoAndTheirSumToo() {
        // 128 GiB + 32 MiB needs a 256 GiB port window; two of them a 512 GiB window; the audio function none
        long h100 = 128 * GIB + (32L << 20);
        assertEquals(256 * GIB, Mmio64Window.bytesFor(List.of(device(h100), device(0))));
        assertEquals(512 * GIB, Mmio64Window.bytesFor(List.of(device(h100), device(h100))));
        assertEquals(64 * GIB, Mmio64Window.bytesFor(List.of(device(64 * GIB))));
    }

    private static PciDevice device(long mmio64) {
        return new PciDevice(new PciAddress("0000:41:00.0"), 0x030200, 0x10de, 0x2330, Optional.empty(), mmio64);
    }
}
