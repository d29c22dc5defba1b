package dev.vessel.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CpuQuotaTest {
    @Test
    void aLimitIsItsShareOfTheHundredMillisecondPeriodNeverBelowTheKernelsSmallestAndNoneWithoutOne() {
        assertEquals(100_000, CpuQuota.PERIOD_US);
        assertEquals(50_000, CpuQuota.quotaUs(0.5));
        assertEquals(250_000, CpuQuota.quotaUs(2.5));
        assertEquals(1000, CpuQuota.quotaUs(0.001), "the kernel refuses a quota below 1 ms");
        assertEquals(-1, CpuQuota.quotaUs(0), "no limit");
    }
}
