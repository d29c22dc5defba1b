package dev.vessel.launcher.vm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The bounded runs of qemu-img and genisoimage: output kept, a failure's first line, the time limit. */
class HostToolTest {
    @Test
    void aToolsOutputIsReturnedAndAFailureSaysWhy() throws Exception {
        assertEquals("hello\n", HostTool.run(List.of("echo", "hello")));
        HostTool.Failure e = assertThrows(HostTool.Failure.class,
                () -> HostTool.run(List.of("sh", "-c", "echo; echo 'sh: the reason' ; echo more; exit 3")));
        assertEquals("the reason", e.getMessage());
    }

    @Test
    void aToolThatDoesNotFinishIsStoppedAtItsTimeLimit() {
        long start = System.nanoTime();
        // it keeps its output open, as a hung tool does: the limit must hold while its output is read
        HostTool.Failure e = assertThrows(HostTool.Failure.class,
                () -> HostTool.run(List.of("sleep", "30"), Duration.ofMillis(300)));
        assertTrue(e.getMessage().contains("did not finish in"), e.getMessage());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the limit did not hold");
    }
}
