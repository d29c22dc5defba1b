package dev.vessel.launcher.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The stdio of a VM task attached to before its start: reads and writes wait for the stream the start opens. */
class DeferredStdioTest {
    @Test
    void readsAndWritesWaitForTheStreamThenPassThrough() throws Exception {
        CompletableFuture<StdioChannel> opening = new CompletableFuture<>();
        DeferredStdio stdio = new DeferredStdio(opening);
        CompletableFuture<StdioFrame> read = CompletableFuture.supplyAsync(() -> {
            try {
                return stdio.read();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        assertFalse(read.isDone());
        Recorder stream = new Recorder();
        opening.complete(stream);
        assertEquals(StdioFrame.Type.STDOUT, read.get(30, TimeUnit.SECONDS).type());
        stdio.write(StdioFrame.resize(24, 80));
        assertEquals(List.of(StdioFrame.resize(24, 80)), stream.written);
    }

    @Test
    void aDetachBeforeTheStartEndsReadsAndClosesTheStreamOnceItOpens() throws Exception {
        CompletableFuture<StdioChannel> opening = new CompletableFuture<>();
        DeferredStdio stdio = new DeferredStdio(opening);
        stdio.close();
        assertNull(stdio.read());
        assertThrows(IOException.class, () -> stdio.write(StdioFrame.stdin(new byte[1])));
        Recorder stream = new Recorder();
        opening.complete(stream);
        assertTrue(stream.closed, "the stream that opened after the detach is let go");
    }

    @Test
    void aStartThatNeverCameFailsTheReads() {
        CompletableFuture<StdioChannel> opening = new CompletableFuture<>();
        DeferredStdio stdio = new DeferredStdio(opening);
        opening.completeExceptionally(new IllegalStateException("the VM task ended before it started"));
        assertTrue(assertThrows(IOException.class, stdio::read).getMessage().contains("before it started"));
    }

    private static final class Recorder implements StdioChannel {
        final List<StdioFrame> written = new CopyOnWriteArrayList<>();
        volatile boolean closed;

        @Override
        public StdioFrame read() {
            return new StdioFrame(StdioFrame.Type.STDOUT, new byte[] {'$'});
        }

        @Override
        public void write(StdioFrame frame) {
            written.add(frame);
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
