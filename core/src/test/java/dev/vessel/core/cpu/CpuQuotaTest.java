package dev.vessel.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    @Test
    void aQuotaOverItsPeriodIsItsCpusAndAPeriodIsOneTheKernelTakes() {
        assertEquals(0.25, CpuQuota.cpus(50_000, 200_000));
        assertEquals(0.5, CpuQuota.cpus(50_000, 0), "over the default period");
        assertTrue(CpuQuota.periodProblem(1000).isEmpty() && CpuQuota.periodProblem(1_000_000).isEmpty());
        assertEquals("999 is not a period in µs (1000 to 1000000)", CpuQuota.periodProblem(999).orElseThrow());
        assertTrue(CpuQuota.periodProblem(1_000_001).isPresent());
    }
}
