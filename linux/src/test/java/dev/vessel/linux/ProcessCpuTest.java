package dev.vessel.linux;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class ProcessCpuTest {
    @Test
    void aProcessThatSpendsCpuTimeReadsAsHavingSpentIt() throws Exception {
        long self = ProcessHandle.current().pid();
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        ProcessCpu before = ProcessCpu.of(self);
        long start = os.getProcessCpuTime();
        long spun = 0;
        while (os.getProcessCpuTime() - start < 500_000_000L) { // half a second of CPU, as the JVM counts it
            spun += Long.numberOfTrailingZeros(spun + System.nanoTime());
        }
        ProcessCpu after = ProcessCpu.of(self);
        double spent = after.userSeconds() + after.systemSeconds() - before.userSeconds() - before.systemSeconds();
        assertTrue(spent >= 0.4, "read " + spent + " s of CPU (" + before + " then " + after + "), spun " + spun);
        assertTrue(after.userSeconds() >= before.userSeconds() && after.systemSeconds() >= before.systemSeconds());
    }

    @Test
    void aProcessThatIsGoneIsAnIoException() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        assertThrows(IOException.class, () -> ProcessCpu.of(gone.pid()));
    }
}
