package dev.vessel.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.vessel.core.agent.AgentStreams;
import dev.vessel.core.agent.CloseStream;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.Pong;
import dev.vessel.core.agent.StdioData;
import dev.vessel.core.agent.StreamCredit;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The guest's end of the stdio streams, between processes' channels (fakes here) and a host connection in memory. */
class GuestStreamsTest {
    private static final int PIECE = AgentStreams.CHUNK_BYTES + 5;

    private MemoryPipe.Link link;
    private FrameWriter writer;
    private GuestStreams streams;
    private final BlockingQueue<GuestFrame> sent = new LinkedBlockingQueue<>();

    @BeforeEach
    void connect() {
        link = MemoryPipe.link();
        writer = new FrameWriter(link.guest().out());
        streams = new GuestStreams(writer);
        Thread.ofVirtual().start(() -> {
            try {
                for (GuestFrame f; (f = GuestFrame.parseDelimitedFrom(link.host().in())) != null; ) {
                    sent.add(f);
                }
            } catch (IOException e) {
                // closed
            }
        });
    }

    @AfterEach
    void close() throws IOException {
        streams.closeAll();
        link.host().close();
    }

    @Test
    void relaysBothWaysAndEndsAfterTheExit() throws Exception {
        Echo echo = new Echo();
        streams.register(1, echo);
        streams.start(1);
        streams.handle(stdio(1, StdioFrame.stdin("hi\n".getBytes(StandardCharsets.UTF_8))));
        assertEquals(new StdioFrame(StdioFrame.Type.STDOUT, "hi\n".getBytes(StandardCharsets.UTF_8)), nextStdio(1));
        streams.handle(stdio(1, StdioFrame.stdinClose()));
        assertEquals(0, nextStdio(1).exitStatus());
        GuestFrame ended = next();
        assertTrue(ended.hasStreamEnded(), ended.toString());
        assertEquals(1, ended.getStreamEnded().getStreamId());
        assertEquals("", ended.getStreamEnded().getMessage());
        assertTrue(echo.closed.await(30, TimeUnit.SECONDS), "the process's channel is let go");
    }

    @Test
    void outputWaitsForTheHostsCreditAndNothingElseDoes() throws Exception {
        Echo echo = new Echo();
        streams.register(1, echo);
        streams.start(1);
        echo.out.add(new StdioFrame(StdioFrame.Type.STDOUT, new byte[1 << 20]));
        for (int i = 0; i < AgentStreams.WINDOW_BYTES / PIECE; i++) {
            assertEquals(AgentStreams.CHUNK_BYTES, nextStdio(1).payload().length);
        }
        // the stream waits for credit; the connection does not
        writer.send(GuestFrame.newBuilder().setRequestId(9).setPong(Pong.getDefaultInstance()).build());
        GuestFrame other = next();
        assertTrue(other.hasPong(), "expected the pong before more of the stream, got " + other);
        streams.handle(HostFrame.newBuilder().setCredit(StreamCredit.newBuilder().setStreamId(1).setBytes(PIECE)).build());
        assertEquals(AgentStreams.CHUNK_BYTES, nextStdio(1).payload().length);
    }

    @Test
    void inputAProcessDoesNotReadNeverHoldsUpTheReaderAndAnOverrunEndsTheStream() throws Exception {
        Echo stuck = new Echo();
        stuck.writesBlock = true;
        streams.register(1, stuck);
        streams.start(1);
        byte[] chunk = new byte[AgentStreams.CHUNK_BYTES];
        for (int i = 0; i < AgentStreams.WINDOW_BYTES / PIECE; i++) {
            streams.handle(stdio(1, StdioFrame.stdin(chunk))); // returns: queued for the stuck writer
        }
        streams.handle(stdio(1, StdioFrame.stdin(chunk))); // past the window
        GuestFrame ended = next();
        assertTrue(ended.hasStreamEnded() && ended.getStreamEnded().getMessage().contains("window"), ended.toString());
        assertTrue(stuck.closed.await(30, TimeUnit.SECONDS));
    }

    @Test
    void closeStreamDetachesAndTheConnectionsEndDetachesAll() throws Exception {
        Echo one = new Echo();
        Echo two = new Echo();
        streams.register(1, one);
        streams.register(2, two);
        streams.start(1);
        streams.start(2);
        streams.handle(HostFrame.newBuilder().setCloseStream(CloseStream.newBuilder().setStreamId(1)).build());
        assertTrue(one.closed.await(30, TimeUnit.SECONDS));
        assertEquals(1, two.closed.getCount(), "the other stream stays");
        streams.closeAll();
        assertTrue(two.closed.await(30, TimeUnit.SECONDS));
    }

    /** A detach comes after the host's last input (attach, resize, detach): that input still reaches the process. */
    @Test
    void inputSentBeforeCloseStreamIsWrittenBeforeTheDetach() throws Exception {
        Echo slow = new Echo();
        slow.gate = new CountDownLatch(1);
        streams.register(1, slow);
        streams.start(1);
        streams.handle(stdio(1, StdioFrame.stdin("a".getBytes(StandardCharsets.UTF_8))));
        streams.handle(stdio(1, StdioFrame.resize(33, 101)));
        streams.handle(HostFrame.newBuilder().setCloseStream(CloseStream.newBuilder().setStreamId(1)).build());
        slow.gate.countDown();
        assertTrue(slow.closed.await(30, TimeUnit.SECONDS));
        assertEquals(List.of(StdioFrame.Type.STDIN, StdioFrame.Type.RESIZE), slow.written.stream().map(StdioFrame::type).toList());
    }

    @Test
    void aStreamIdInUseOrZeroIsRefusedNamingIt() {
        streams.register(1, new Echo());
        Echo again = new Echo();
        VesselException e = assertThrows(VesselException.class, () -> streams.register(1, again));
        assertEquals("stream_id", e.field().orElseThrow());
        assertEquals(0, again.closed.getCount(), "the refused stream's process is let go");
        assertEquals("stream_id", assertThrows(VesselException.class, () -> streams.register(0, new Echo()))
                .field().orElseThrow());
    }

    private static HostFrame stdio(long id, StdioFrame frame) {
        return HostFrame.newBuilder().setStdio(StdioData.newBuilder().setStreamId(id)
                .setFrame(ByteString.copyFrom(frame.encode()))).build();
    }

    private GuestFrame next() throws InterruptedException {
        GuestFrame f = sent.poll(30, TimeUnit.SECONDS);
        if (f == null) {
            throw new AssertionError("the guest sent nothing for 30 s");
        }
        return f;
    }

    private StdioFrame nextStdio(long id) throws Exception {
        GuestFrame f = next();
        assertTrue(f.hasStdio(), "expected a stdio frame, got " + f);
        assertEquals(id, f.getStdio().getStreamId());
        return AgentStreams.decode(f.getStdio().getFrame());
    }

    /** A process that echoes its stdin and exits 0 when it closes; or one that never reads it. */
    private static final class Echo implements StdioChannel {
        final BlockingQueue<StdioFrame> out = new LinkedBlockingQueue<>();
        final CountDownLatch closed = new CountDownLatch(1);
        volatile boolean writesBlock;
        /** When set, a write waits for it first. */
        volatile CountDownLatch gate;
        final List<StdioFrame> written = new CopyOnWriteArrayList<>();
        private volatile boolean exited;

        @Override
        public StdioFrame read() throws IOException {
            while (!exited || !out.isEmpty()) {
                if (closed.getCount() == 0) {
                    return null;
                }
                try {
                    StdioFrame f = out.poll(50, TimeUnit.MILLISECONDS);
                    if (f != null) {
                        return f;
                    }
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            return null;
        }

        @Override
        public void write(StdioFrame frame) throws IOException {
            if (writesBlock) {
                try {
                    closed.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                throw new IOException("closed");
            }
            CountDownLatch wait = gate;
            if (wait != null) {
                try {
                    wait.await();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            written.add(frame);
            if (frame.type() == StdioFrame.Type.STDIN) {
                out.add(new StdioFrame(StdioFrame.Type.STDOUT, frame.payload()));
            } else if (frame.type() == StdioFrame.Type.STDIN_CLOSE) {
                out.add(StdioFrame.exit(0));
                exited = true;
            }
        }

        @Override
        public void close() {
            closed.countDown();
        }
    }
}
