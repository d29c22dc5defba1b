package dev.vessel.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.launcher.process.LogReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A task's events as the host receives them: its output, then its end, and when the end goes out. */
class TaskEventsTest {
    private static final Termination EXIT_3 = Termination.newBuilder().setReason(TerminationReason.EXITED)
            .setExitCode(3).build();

    @TempDir
    Path tmp;
    private RuntimePaths paths;
    private Path containerDir;

    @BeforeEach
    void logs() throws IOException {
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        containerDir = Files.createDirectories(paths.containerDir(List.of("t")));
        Files.writeString(paths.stdoutLog(containerDir), "last words\n");
        Files.writeString(paths.stderrLog(containerDir), "");
    }

    /**
     * The thread that completes the exit (the reaper, which goes on into the task's cleanup) does so only once the
     * end was sent, even to a host slow to take it: the host hears of the end before the guest's cleanup.
     */
    @Test
    void theEndIsSentBeforeTheThreadThatCompletedTheExitGoesOn() throws Exception {
        SlowHost host = new SlowHost();
        HostLink link = new HostLink();
        link.up(new FrameWriter(host));
        CompletableFuture<Termination> exit = new CompletableFuture<>();
        TaskEvents events = TaskEvents.start("t", containerDir, new LogReader(paths), exit, link);
        try {
            AtomicReference<List<GuestFrame>> sentWhenItWentOn = new AtomicReference<>();
            Thread.ofVirtual().start(() -> {
                exit.complete(EXIT_3);
                sentWhenItWentOn.set(host.frames());
            }).join();

            List<GuestFrame> sent = sentWhenItWentOn.get();
            assertTrue(!sent.isEmpty() && sent.getLast().hasExited(), "the end was not sent yet: " + sent);
            assertEquals(EXIT_3, sent.getLast().getExited().getTermination());
            assertEquals("last words\n", sent.getFirst().getOutput().getData().toStringUtf8(),
                    "the output goes out before the end");
        } finally {
            events.stop();
        }
    }

    /** With no host connected the completing thread is not held: the end goes to the next host that connects. */
    @Test
    void withNoHostTheEndWaitsForTheNextConnection() throws Exception {
        HostLink link = new HostLink();
        CompletableFuture<Termination> exit = new CompletableFuture<>();
        TaskEvents events = TaskEvents.start("t", containerDir, new LogReader(paths), exit, link);
        try {
            Thread.ofVirtual().start(() -> exit.complete(EXIT_3)).join();

            SlowHost host = new SlowHost();
            link.up(new FrameWriter(host));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (host.frames().stream().noneMatch(GuestFrame::hasExited) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(host.frames().stream().anyMatch(f -> f.hasExited()
                    && f.getExited().getTermination().equals(EXIT_3)), "no end reached the host: " + host.frames());
        } finally {
            events.stop();
        }
    }

    /** A host connection that takes its time over each frame (a flush that waits), keeping what it was sent. */
    private static final class SlowHost extends ByteArrayOutputStream {
        @Override
        public void flush() {
            try {
                Thread.sleep(30);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** The whole frames written so far (length-delimited, as {@link FrameWriter} writes them). */
        List<GuestFrame> frames() {
            List<GuestFrame> frames = new ArrayList<>();
            InputStream in = new ByteArrayInputStream(toByteArray());
            try {
                for (GuestFrame frame = GuestFrame.parseDelimitedFrom(in); frame != null;
                        frame = GuestFrame.parseDelimitedFrom(in)) {
                    frames.add(frame);
                }
            } catch (InvalidProtocolBufferException e) {
                // the last frame is still being written
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return frames;
        }
    }
}
