package dev.vessel.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class ProcStatTest {
    @Test
    void aProcessThatSpendsCpuTimeReadsAsHavingSpentIt() {
        long self = ProcessHandle.current().pid();
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        ProcStat before = ProcStat.of(self).orElseThrow();
        long start = os.getProcessCpuTime();
        long spun = 0;
        while (os.getProcessCpuTime() - start < 500_000_000L) { // half a second of CPU, as the JVM counts it
            spun += Long.numberOfTrailingZeros(spun + System.nanoTime());
        }
        ProcStat after = ProcStat.of(self).orElseThrow();
        double spent = after.userSeconds() + after.systemSeconds() - before.userSeconds() - before.systemSeconds();
        assertTrue(spent >= 0.4, "read " + spent + " s of CPU (" + before + " then " + after + "), spun " + spun);
        assertTrue(after.userTicks() >= before.userTicks() && after.systemTicks() >= before.systemTicks());
    }

    @Test
    void aProcessIsNamedByItsPidAndStartTimeAndOneThatIsGoneByNeither() throws Exception {
        long self = ProcessHandle.current().pid();
        long started = ProcStat.startTime(self).orElseThrow();
        assertEquals(started, ProcStat.startTimeOfUnreaped(self).orElseThrow());
        assertTrue(ProcStat.isSame(self, started));
        assertFalse(ProcStat.isSame(self, started + 1), "another start time is another process");
        assertFalse(ProcStat.of(self).orElseThrow().exited());

        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        assertTrue(ProcStat.of(gone.pid()).isEmpty());
        assertTrue(ProcStat.startTime(gone.pid()).isEmpty());
        assertFalse(ProcStat.isSame(gone.pid(), started));
    }
}
