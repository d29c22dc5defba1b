package dev.vessel.launcher.vm;

import dev.vessel.core.error.Failures;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A stdio stream that opens later: a VM task attached to before its start (run -it) has no process in
 * the guest until its release, so reads and writes wait for the stream the release lets open. Closing
 * before then detaches from the stream as soon as it exists.
 */
final class DeferredStdio implements StdioChannel {
    private final CompletableFuture<StdioChannel> opening;
    /** What readers and writers wait on: the stream, or the detach that came first. */
    private final CompletableFuture<StdioChannel> visible = new CompletableFuture<>();
    private volatile boolean closed;

    DeferredStdio(CompletableFuture<StdioChannel> opening) {
        this.opening = opening;
        opening.whenComplete((stream, error) -> {
            if (stream != null && (closed || !visible.complete(stream))) {
                closeQuietly(stream); // detached before it opened
            } else if (error != null) {
                visible.completeExceptionally(error);
            }
        });
    }

    @Override
    public StdioFrame read() throws IOException {
        StdioChannel stream = stream();
        return stream == null ? null : stream.read();
    }

    @Override
    public void write(StdioFrame frame) throws IOException {
        StdioChannel stream = stream();
        if (stream == null) {
            throw new IOException("detached");
        }
        stream.write(frame);
    }

    @Override
    public void close() throws IOException {
        closed = true;
        if (!visible.complete(null)) {
            StdioChannel stream = visible.getNow(null);
            if (stream != null) {
                stream.close();
            }
        }
    }

    /** The stream once open; null after a detach. */
    private StdioChannel stream() throws IOException {
        try {
            return visible.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the task's start");
        } catch (ExecutionException e) {
            throw new IOException(Failures.unwrap(e).getMessage(), Failures.unwrap(e));
        }
    }

    private static void closeQuietly(StdioChannel stream) {
        try {
            stream.close();
        } catch (IOException e) {
            // detaching
        }
    }
}
