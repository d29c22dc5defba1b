package dev.vessel.launcher.vm;

import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A stdio stream to a process in a guest whose last frame is the process's EXIT even when the stream
 * breaks first: a task's end tears its VM down, which may close the channel before the guest's EXIT
 * frame got through. The end learnt otherwise (the guest's exit report, or the VM lost) then stands in.
 */
final class ProcessStdio implements StdioChannel {
    /** How long a broken stream waits for the process's end to be learnt (a lost VM takes a few seconds). */
    private static final long END_PATIENCE_SECONDS = 40;

    private final StdioChannel stream;
    private final CompletableFuture<Integer> status;
    private boolean exitRead;
    private volatile boolean closed;

    ProcessStdio(StdioChannel stream, CompletableFuture<Integer> status) {
        this.stream = stream;
        this.status = status;
    }

    @Override
    public StdioFrame read() throws IOException {
        if (exitRead) {
            return null;
        }
        try {
            StdioFrame frame = stream.read();
            if (frame != null && frame.type() == StdioFrame.Type.EXIT) {
                exitRead = true;
            }
            return frame != null || closed ? frame : exitInstead(null);
        } catch (IOException e) {
            if (closed) {
                return null;
            }
            return exitInstead(e);
        }
    }

    /** The process's EXIT once its end is known; else the stream's failure ({@code broken}, or its unexplained end). */
    private StdioFrame exitInstead(IOException broken) throws IOException {
        try {
            int code = status.get(END_PATIENCE_SECONDS, TimeUnit.SECONDS);
            exitRead = true;
            return StdioFrame.exit(code);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // not known: the stream's own story
        }
        throw broken != null ? broken : new IOException("the stream from the guest ended before the process's exit");
    }

    @Override
    public void write(StdioFrame frame) throws IOException {
        stream.write(frame);
    }

    @Override
    public void close() throws IOException {
        closed = true;
        stream.close();
    }
}
