package dev.vessel.guest;

import com.google.protobuf.ByteString;
import dev.vessel.core.agent.ExecExited;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Sends one task's events to the host: its stdout and stderr, read from the log files its monitor
 * writes, as output chunks in order, its execs' exits, and once it ended and all its output is out,
 * its exit. Offsets advance only when a chunk was written, so after a reconnection the next connection
 * gets the output the last one missed, and the exits again (the host ignores duplicates), until the
 * task is destroyed.
 *
 * <p>The logs are polled: right after output every few milliseconds, backing off to a tenth of a
 * second while the task is quiet, so an idle task costs the guest almost nothing.
 *
 * <p>The end goes out before the guest cleans up after the task: the thread that completes the exit (the
 * containerizer's reaper, which then runs the isolators' cleanup) waits until the forwarder has sent it. On a
 * guest's one vCPU its virtual threads share one carrier, and the reaper would otherwise run on into the cleanup
 * with the forwarder only woken (the end traced 2-50 ms later); a VM task's host destroys the VM once it hears
 * of the end, so the cleanup is not waited for.
 */
final class TaskEvents implements Runnable {
    static final int MAX_CHUNK_BYTES = 64 << 10;
    private static final long MIN_POLL_MS = 5;
    private static final long MAX_POLL_MS = 100;
    private static final long ENDED_WAIT_MS = 1000;
    /** How long the thread completing the exit waits for the end to be sent: a host is there, or it is not. */
    private static final long END_HANDOVER_MS = 200;

    private final String containerId;
    private final Path containerDir;
    private final LogReader logs;
    private final CompletableFuture<Termination> exit;
    private final HostLink link;
    private final long[] offsets = new long[2];
    private FrameWriter exitSentTo;
    /** Counted down once the end was sent, or the forwarder cannot send it now (no host, stopped). */
    private final CountDownLatch endSentOrGivenUp = new CountDownLatch(1);
    /** The task's execs, in the order they started: each one's end and the connection it was last sent to. */
    private final Map<String, ExecEnd> execs = new LinkedHashMap<>();

    private static final class ExecEnd {
        final CompletableFuture<Integer> exit;
        volatile FrameWriter sentTo;

        ExecEnd(CompletableFuture<Integer> exit) {
            this.exit = exit;
        }
    }
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
        events.thread = Thread.ofVirtual().name("events-" + containerId).start(events);
        exit.whenComplete((termination, error) -> events.handOverEnd()); // after the start: it waits for the thread
        return events;
    }

    /**
     * Wakes the forwarder and, on a virtual thread, waits until it sent the end: the completing thread's carrier
     * is then free for it (a platform thread, the common pool's after a sync, has no carrier to give).
     */
    private void handOverEnd() {
        link.poke();
        if (Thread.currentThread().isVirtual()) {
            try {
                endSentOrGivenUp.await(END_HANDOVER_MS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Reports the end of exec {@code execId} once {@code exit} completes (and again after each reconnection). */
    void addExec(String execId, CompletableFuture<Integer> exit) {
        synchronized (execs) {
            execs.put(execId, new ExecEnd(exit));
        }
        exit.whenComplete((status, error) -> link.poke());
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
                    if (exit.isDone()) {
                        endSentOrGivenUp.countDown(); // sent to the next host that connects
                    }
                    link.awaitChange(null, MAX_POLL_MS, () -> stopped);
                    continue;
                }
                try {
                    boolean ended = exit.isDone(); // before reading: output written before the exit is all there
                    boolean sent = forward(host, LogReader.Stream.STDOUT) | forward(host, LogReader.Stream.STDERR);
                    sendExecExits(host);
                    if (ended) {
                        if (exitSentTo != host) {
                            host.send(exited());
                            exitSentTo = host;
                        }
                        endSentOrGivenUp.countDown();
                        link.awaitChange(host, ENDED_WAIT_MS, () -> stopped);
                    } else {
                        pollMillis = sent ? MIN_POLL_MS : Math.min(pollMillis * 2, MAX_POLL_MS);
                        link.awaitChange(host, pollMillis, () -> stopped || exit.isDone() || anExecEndUnsent(host));
                    }
                } catch (IOException e) {
                    if (exit.isDone()) {
                        endSentOrGivenUp.countDown();
                    }
                    link.awaitChange(host, MAX_POLL_MS, () -> stopped); // that connection is gone: wait for the next one
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            endSentOrGivenUp.countDown();
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

    /** Each exec's end that this connection has not had yet. */
    private void sendExecExits(FrameWriter host) throws IOException {
        List<Map.Entry<String, ExecEnd>> all;
        synchronized (execs) {
            all = List.copyOf(execs.entrySet());
        }
        for (Map.Entry<String, ExecEnd> e : all) {
            ExecEnd end = e.getValue();
            if (end.exit.isDone() && end.sentTo != host) {
                int status = end.exit.exceptionally(error -> 255).join(); // lost track of it: as a shell says "failed"
                host.send(GuestFrame.newBuilder().setExecExited(ExecExited.newBuilder().setContainerId(containerId)
                        .setExecId(e.getKey()).setStatus(status)).build());
                end.sentTo = host;
            }
        }
    }

    private boolean anExecEndUnsent(FrameWriter host) {
        synchronized (execs) {
            return execs.values().stream().anyMatch(end -> end.exit.isDone() && end.sentTo != host);
        }
    }

    private GuestFrame exited() {
        Termination termination = exit.handle((t, error) -> t != null ? t : Termination.newBuilder()
                .setReason(TerminationReason.LOST)
                .setMessage("the guest lost track of the task: " + error.getMessage()).build()).join();
        return GuestFrame.newBuilder().setExited(TaskExited.newBuilder()
                .setContainerId(containerId).setTermination(termination)).build();
    }
}
