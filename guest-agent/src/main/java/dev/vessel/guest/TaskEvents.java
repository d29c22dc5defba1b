package dev.vessel.guest;

import com.google.protobuf.ByteString;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.OutputChunk;
import dev.vessel.core.agent.Stream;
import dev.vessel.core.agent.TaskExited;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.launcher.process.LogReader;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Sends one task's events to the host: its stdout and stderr, read from the log files its monitor
 * writes, as output chunks in order, and once it ended and all its output is out, its exit. Offsets
 * advance only when a chunk was written, so after a reconnection the next connection gets the output
 * the last one missed, and the exit again (the host ignores duplicates), until the task is destroyed.
 *
 * <p>The logs are polled: right after output every few milliseconds, backing off to a tenth of a
 * second while the task is quiet, so an idle task costs the guest almost nothing.
 */
final class TaskEvents implements Runnable {
    static final int MAX_CHUNK_BYTES = 64 << 10;
    private static final long MIN_POLL_MS = 5;
    private static final long MAX_POLL_MS = 100;
    private static final long ENDED_WAIT_MS = 1000;

    private final String containerId;
    private final Path containerDir;
    private final LogReader logs;
    private final CompletableFuture<Termination> exit;
    private final HostLink link;
    private final long[] offsets = new long[2];
    private FrameWriter exitSentTo;
    private volatile boolean stopped;
    private Thread thread;

    private TaskEvents(String containerId, Path containerDir, LogReader logs, CompletableFuture<Termination> exit,
            HostLink link) {
        this.containerId = containerId;
        this.containerDir = containerDir;
        this.logs = logs;
        this.exit = exit;
        this.link = link;
    }

    /** Starts forwarding the events of the task whose container directory is {@code containerDir}. */
    static TaskEvents start(String containerId, Path containerDir, LogReader logs,
            CompletableFuture<Termination> exit, HostLink link) {
        TaskEvents events = new TaskEvents(containerId, containerDir, logs, exit, link);
        exit.whenComplete((termination, error) -> link.poke());
        events.thread = Thread.ofVirtual().name("events-" + containerId).start(events);
        return events;
    }

    /** Stops forwarding (the task is being destroyed) and waits a little for the forwarder to end. */
    void stop() throws InterruptedException {
        stopped = true;
        link.poke();
        thread.join(Duration.ofSeconds(5));
    }

    @Override
    public void run() {
        long pollMillis = MIN_POLL_MS;
        try {
            while (!stopped) {
                FrameWriter host = link.current();
                if (host == null) {
                    link.awaitChange(null, MAX_POLL_MS, () -> stopped);
                    continue;
                }
                try {
                    boolean ended = exit.isDone(); // before reading: output written before the exit is all there
                    boolean sent = forward(host, LogReader.Stream.STDOUT) | forward(host, LogReader.Stream.STDERR);
                    if (ended) {
                        if (exitSentTo != host) {
                            host.send(exited());
                            exitSentTo = host;
                        }
                        link.awaitChange(host, ENDED_WAIT_MS, () -> stopped);
                    } else {
                        pollMillis = sent ? MIN_POLL_MS : Math.min(pollMillis * 2, MAX_POLL_MS);
                        link.awaitChange(host, pollMillis, () -> stopped || exit.isDone());
                    }
                } catch (IOException e) {
                    link.awaitChange(host, MAX_POLL_MS, () -> stopped); // that connection is gone: wait for the next one
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sends what the log holds past the offset; true if anything was sent. */
    private boolean forward(FrameWriter host, LogReader.Stream stream) throws IOException {
        boolean sent = false;
        while (!stopped) {
            LogReader.Chunk chunk = logs.read(containerDir, stream, offsets[stream.ordinal()], MAX_CHUNK_BYTES);
            if (chunk.data().length == 0) {
                return sent;
            }
            host.send(GuestFrame.newBuilder().setOutput(OutputChunk.newBuilder()
                    .setContainerId(containerId)
                    .setStream(stream == LogReader.Stream.STDOUT ? Stream.STDOUT : Stream.STDERR)
                    .setData(ByteString.copyFrom(chunk.data()))).build());
            offsets[stream.ordinal()] = chunk.nextOffset();
            sent = true;
        }
        return sent;
    }

    private GuestFrame exited() {
        Termination termination = exit.handle((t, error) -> t != null ? t : Termination.newBuilder()
                .setReason(TerminationReason.LOST)
                .setMessage("the guest lost track of the task: " + error.getMessage()).build()).join();
        return GuestFrame.newBuilder().setExited(TaskExited.newBuilder()
                .setContainerId(containerId).setTermination(termination)).build();
    }
}
