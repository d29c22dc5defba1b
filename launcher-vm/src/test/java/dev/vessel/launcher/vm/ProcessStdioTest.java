package dev.vessel.launcher.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** A VM process's stdio ends with its EXIT even when the agent's stream breaks first (the VM torn down). */
class ProcessStdioTest {
    @Test
    void aStreamThatEndsWithItsExitIsPassedOnAsItIs() throws Exception {
        ProcessStdio stdio = new ProcessStdio(new Scripted(List.of(out("a"), StdioFrame.exit(4)), null),
                CompletableFuture.completedFuture(99));
        assertEquals(out("a"), stdio.read());
        assertEquals(4, stdio.read().exitStatus(), "the guest's own EXIT, not the one learnt otherwise");
        assertNull(stdio.read());
    }

    @Test
    void aBrokenStreamEndsWithTheExitLearntOtherwise() throws Exception {
        CompletableFuture<Integer> status = new CompletableFuture<>();
        ProcessStdio stdio = new ProcessStdio(new Scripted(List.of(out("a")), new IOException("channel closed")), status);
        assertEquals(out("a"), stdio.read());
        status.complete(130);
        assertEquals(130, stdio.read().exitStatus());
        assertNull(stdio.read());
    }

    @Test
    void aBrokenStreamOfAProcessWhoseEndIsUnknownFails() {
        ProcessStdio stdio = new ProcessStdio(new Scripted(List.of(), new IOException("channel closed")),
                CompletableFuture.failedFuture(new IllegalStateException("the VM task was detached")));
        assertEquals("channel closed", assertThrows(IOException.class, stdio::read).getMessage());
    }

    @Test
    void afterADetachReadsEnd() throws Exception {
        ProcessStdio stdio = new ProcessStdio(new Scripted(List.of(), new IOException("closed")), new CompletableFuture<>());
        stdio.close();
        assertNull(stdio.read());
    }

    private static StdioFrame out(String s) {
        return new StdioFrame(StdioFrame.Type.STDOUT, s.getBytes());
    }

    /** Gives its frames, then fails with {@code end} (null: ends cleanly). */
    private static final class Scripted implements StdioChannel {
        private final Deque<StdioFrame> frames;
        private final IOException end;

        Scripted(List<StdioFrame> frames, IOException end) {
            this.frames = new ArrayDeque<>(frames);
            this.end = end;
        }

        @Override
        public StdioFrame read() throws IOException {
            if (!frames.isEmpty()) {
                return frames.poll();
            }
            if (end != null) {
                throw end;
            }
            return null;
        }

        @Override
        public void write(StdioFrame frame) {
        }

        @Override
        public void close() {
        }
    }
}
