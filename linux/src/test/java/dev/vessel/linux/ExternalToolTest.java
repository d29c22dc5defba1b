package dev.vessel.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A tool's bounded run: its output kept, a failure's first line, the time limit. */
class ExternalToolTest {
    @Test
    void aToolsOutputIsReturnedAndAFailureSaysWhy() throws Exception {
        assertEquals("hello\n", ExternalTool.run(List.of("echo", "hello")));
        ExternalTool.Failure e = assertThrows(ExternalTool.Failure.class,
                () -> ExternalTool.run(List.of("sh", "-c", "echo; echo 'sh: the reason' ; echo more; exit 3")));
        assertEquals("the reason", e.getMessage());
    }

    @Test
    void aToolThatDoesNotFinishIsStoppedAtItsTimeLimit() {
        long start = System.nanoTime();
        // it keeps its output open, as a hung tool does: the limit must hold while its output is read
        ExternalTool.Failure e = assertThrows(ExternalTool.Failure.class,
                () -> ExternalTool.run(List.of("sleep", "30"), Duration.ofMillis(300)));
        assertTrue(e.getMessage().contains("did not finish in"), e.getMessage());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the limit did not hold");
    }
}
