package dev.vessel.node.api;

import dev.vessel.launcher.process.LogReader;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Streams a log to a client: what it holds, and with {@code follow} what is appended to it until its
 * writer has ended. Writers (a task's monitor, QEMU's serial console) append and tell no one, so a
 * follower polls; the writer's end wakes it at once, so it ends with the writer.
 */
final class LogFollower {
    private static final int CHUNK = 64 * 1024;
    private static final long POLL_MS = 100;

    /** Reads the log from an offset. */
    interface Source {
        LogReader.Chunk read(long offset, int maxBytes) throws IOException;
    }

    /** Whether the writer has ended: asked before each read, so what it wrote just before its end is not missed. */
    interface Ended {
        boolean now();
    }

    private LogFollower() {
    }

    static void stream(Exchange ex, String contentType, Source source, boolean follow, Ended ended,
            CompletableFuture<?> end) throws IOException, InterruptedException {
        ex.startStream(contentType);
        long offset = 0;
        while (true) {
            boolean over = !follow || ended.now();
            LogReader.Chunk chunk = source.read(offset, CHUNK);
            offset = chunk.nextOffset();
            if (chunk.data().length > 0) {
                if (!ex.write(chunk.data())) {
                    return; // the client went away
                }
                continue;
            }
            if (over) {
                break;
            }
            if (!ex.clientConnected()) {
                return;
            }
            try {
                end.get(POLL_MS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // still running (or its end failed: the check above decides)
            }
        }
        ex.end();
    }
}
