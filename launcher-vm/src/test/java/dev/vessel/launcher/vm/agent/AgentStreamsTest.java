package dev.vessel.launcher.vm.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.vessel.core.agent.AgentStreams;
import dev.vessel.core.agent.ExecExited;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.Hello;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.Ok;
import dev.vessel.core.agent.OutputChunk;
import dev.vessel.core.agent.StartExec;
import dev.vessel.core.agent.StdioData;
import dev.vessel.core.agent.Stream;
import dev.vessel.core.agent.StreamCredit;
import dev.vessel.core.agent.StreamEnded;
import dev.vessel.core.agent.UsageRequest;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The host's end of the agent protocol's stdio streams and exec exits, against a fake guest on a real unix socket. */
class AgentStreamsTest {
    private static final Duration REPLY = Duration.ofSeconds(30);
    private static final AgentClient.Timing QUIET = new AgentClient.Timing(Duration.ofMinutes(5), Duration.ofMinutes(10));
    private static final int PIECE = AgentStreams.CHUNK_BYTES + 5;

    @RegisterExtension
    static final AgentLoop LOOP = new AgentLoop();

    @TempDir
    Path dir;
    private FakeGuest guest;
    private AgentClient client;
    private final BlockingQueue<GuestFrame> events = new LinkedBlockingQueue<>();
    private final BlockingQueue<String> broken = new LinkedBlockingQueue<>();

    @BeforeEach
    void connect() throws Exception {
        guest = new FakeGuest(dir.resolve("agent.sock"));
        client = new AgentClient(LOOP.group(), dir.resolve("agent.sock"), QUIET, new AgentClient.Listener() {
            @Override
            public void event(GuestFrame frame) {
                events.add(frame);
            }

            @Override
            public void brokeProtocol(dev.vessel.core.error.VesselException why) {
                broken.add(why.getMessage());
            }
        });
        CompletableFuture<Hello> hello = client.connect();
        guest.accept().sayHello();
        hello.get(30, TimeUnit.SECONDS);
        assertTrue(guest.receive().hasHelloAck());
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        guest.close();
    }

    @Test
    void aStreamCarriesStdioFramesBothWaysAndEndsAfterTheExit() throws Exception {
        StdioChannel stream = open("c", "e1");

        sendStdio(1, new StdioFrame(StdioFrame.Type.STDOUT, "hi\n".getBytes(StandardCharsets.UTF_8)));
        assertEquals(new StdioFrame(StdioFrame.Type.STDOUT, "hi\n".getBytes(StandardCharsets.UTF_8)), stream.read());

        stream.write(StdioFrame.stdin("ls\n".getBytes(StandardCharsets.UTF_8)));
        stream.write(StdioFrame.resize(40, 120));
        assertEquals(StdioFrame.stdin("ls\n".getBytes(StandardCharsets.UTF_8)), receivedStdio(1));
        StdioFrame resize = receivedStdio(1);
        assertEquals(40, resize.rows());
        assertEquals(120, resize.columns());

        sendStdio(1, StdioFrame.exit(3));
        guest.send(GuestFrame.newBuilder().setStreamEnded(StreamEnded.newBuilder().setStreamId(1)));
        assertEquals(3, stream.read().exitStatus());
        assertNull(stream.read(), "the stream ends after its EXIT");
    }

    @Test
    void aLargeWriteIsSplitAndWaitsForTheGuestsCredit() throws Exception {
        StdioChannel stream = open("c", "");
        byte[] input = new byte[1 << 20];
        new Random(7).nextBytes(input);
        CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
            try {
                stream.write(StdioFrame.stdin(input));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });

        ByteArrayOutputStream got = new ByteArrayOutputStream();
        int inWindow = AgentStreams.WINDOW_BYTES / PIECE; // whole pieces fit in the window before any credit
        for (int i = 0; i < inWindow; i++) {
            StdioFrame piece = receivedStdio(1);
            assertEquals(AgentStreams.CHUNK_BYTES, piece.payload().length);
            got.write(piece.payload());
        }
        // The writer now waits for credit: the next frame the guest gets is any other, here a request.
        CompletableFuture<GuestFrame> usage = client.request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder()
                .setContainerId("c")), REPLY);
        HostFrame next = guest.receive();
        assertTrue(next.hasUsage(), "the stream's writer must wait for credit, but the guest got " + next);
        guest.send(GuestFrame.newBuilder().setRequestId(next.getRequestId()).setUsage(ResourceStatistics.getDefaultInstance()));
        usage.get(30, TimeUnit.SECONDS);
        assertFalse(written.isDone());

        while (got.size() < input.length) {
            guest.send(GuestFrame.newBuilder().setCredit(StreamCredit.newBuilder().setStreamId(1).setBytes(PIECE)));
            got.write(receivedStdio(1).payload());
        }
        written.get(30, TimeUnit.SECONDS);
        assertArrayEquals(input, got.toByteArray());
    }

    @Test
    void aStreamNobodyReadsHoldsUpNeitherEventsNorRepliesAndAnOverrunEndsIt() throws Exception {
        StdioChannel stream = open("c", "");
        byte[] chunk = new byte[AgentStreams.CHUNK_BYTES];
        for (int i = 0; i < AgentStreams.WINDOW_BYTES / PIECE; i++) {
            sendStdio(1, new StdioFrame(StdioFrame.Type.STDOUT, chunk)); // nobody reads them
        }
        guest.send(GuestFrame.newBuilder().setOutput(OutputChunk.newBuilder().setContainerId("c")
                .setStream(Stream.STDOUT).setData(ByteString.copyFromUtf8("log line\n"))));
        assertEquals("log line\n", nextEvent().getOutput().getData().toStringUtf8());
        CompletableFuture<GuestFrame> usage = client.request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder()
                .setContainerId("c")), REPLY);
        HostFrame request = guest.receive();
        guest.send(GuestFrame.newBuilder().setRequestId(request.getRequestId())
                .setUsage(ResourceStatistics.newBuilder().setPidsCurrent(5)));
        assertEquals(5, usage.get(30, TimeUnit.SECONDS).getUsage().getPidsCurrent());

        sendStdio(1, new StdioFrame(StdioFrame.Type.STDOUT, chunk)); // past the window
        HostFrame close = guest.receive();
        assertTrue(close.hasCloseStream() && close.getCloseStream().getStreamId() == 1, close.toString());
        IOException e = assertThrows(IOException.class, () -> {
            while (stream.read() != null) {
                // what came within the window
            }
        });
        assertTrue(e.getMessage().contains("window"), e.getMessage());
        assertTrue(client.isConnected(), "an overrun ends the stream, not the connection");
    }

    @Test
    void readingGivesCreditBack() throws Exception {
        StdioChannel stream = open("c", "");
        byte[] chunk = new byte[AgentStreams.CHUNK_BYTES];
        sendStdio(1, new StdioFrame(StdioFrame.Type.STDOUT, chunk));
        stream.read();
        HostFrame credit = guest.receive();
        assertTrue(credit.hasCredit(), credit.toString());
        assertEquals(1, credit.getCredit().getStreamId());
        assertEquals(PIECE, credit.getCredit().getBytes());
    }

    @Test
    void closingDetachesAndTellsTheGuest() throws Exception {
        StdioChannel stream = open("c", "");
        stream.close();
        HostFrame close = guest.receive();
        assertTrue(close.hasCloseStream() && close.getCloseStream().getStreamId() == 1, close.toString());
        assertNull(stream.read());
        sendStdio(1, new StdioFrame(StdioFrame.Type.STDOUT, new byte[3])); // late: dropped
        assertTrue(client.isConnected());
    }

    @Test
    void theConnectionsEndEndsItsStreams() throws Exception {
        StdioChannel stream = open("c", "");
        guest.hangUp();
        IOException e = assertThrows(IOException.class, stream::read);
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IOException.class, () -> stream.write(StdioFrame.stdin(new byte[1])));
    }

    @Test
    void aGuestThatRefusesTheStreamFailsItsOpening() throws Exception {
        CompletableFuture<StdioChannel> opening = client.openStream("c", "nope", REPLY);
        HostFrame open = guest.receive();
        guest.send(GuestFrame.newBuilder().setRequestId(open.getRequestId()).setError(dev.vessel.core.agent.Error
                .newBuilder().setField("exec_id").setMessage("no exec 'nope' in this task")));
        Exception e = assertThrows(Exception.class, () -> opening.get(30, TimeUnit.SECONDS));
        assertTrue(e.getMessage().contains("no exec 'nope'"), e.getMessage());
    }

    @Test
    void execExitsAreEventsAndAnImpossibleStatusBreaksTheProtocol() throws Exception {
        guest.send(GuestFrame.newBuilder().setExecExited(ExecExited.newBuilder().setContainerId("c").setExecId("e1")
                .setStatus(130)));
        GuestFrame exited = nextEvent();
        assertEquals("e1", exited.getExecExited().getExecId());
        assertEquals(130, exited.getExecExited().getStatus());

        guest.send(GuestFrame.newBuilder().setExecExited(ExecExited.newBuilder().setContainerId("c").setExecId("e2")
                .setStatus(300)));
        String why = broken.poll(30, TimeUnit.SECONDS);
        assertTrue(why != null && why.contains("300"), String.valueOf(why));
    }

    @Test
    void anExecStartedAttachedCarriesItsStreamIdAndGetsFramesSentRightAfterItsOk() throws Exception {
        CompletableFuture<StdioChannel> starting = client.execAttached(StartExec.newBuilder().setContainerId("c")
                .setExecId("e1").setConfig(ExecConfig.newBuilder().addCommand("/bin/true")).build(), REPLY);
        HostFrame exec = guest.receive();
        assertTrue(exec.hasExec(), exec.toString());
        assertEquals("e1", exec.getExec().getExecId());
        assertEquals(1, exec.getExec().getStreamId());
        guest.send(GuestFrame.newBuilder().setRequestId(exec.getRequestId()).setOk(Ok.getDefaultInstance()));
        sendStdio(1, new StdioFrame(StdioFrame.Type.STDOUT, "quick\n".getBytes(StandardCharsets.UTF_8)));
        sendStdio(1, StdioFrame.exit(0));
        StdioChannel stream = starting.get(30, TimeUnit.SECONDS);
        assertEquals(new StdioFrame(StdioFrame.Type.STDOUT, "quick\n".getBytes(StandardCharsets.UTF_8)), stream.read());
        assertEquals(0, stream.read().exitStatus());

        CompletableFuture<StdioChannel> refused = client.execAttached(StartExec.newBuilder().setContainerId("c")
                .setExecId("e2").build(), REPLY);
        HostFrame second = guest.receive();
        assertEquals(2, second.getExec().getStreamId());
        guest.send(GuestFrame.newBuilder().setRequestId(second.getRequestId()).setError(dev.vessel.core.agent.Error
                .newBuilder().setField("exec_id").setMessage("exec 'e2' exists already")));
        Exception e = assertThrows(Exception.class, () -> refused.get(30, TimeUnit.SECONDS));
        assertTrue(e.getMessage().contains("exists already"), e.getMessage());
    }

    @Test
    void aStdioMessageThatIsNoFrameBreaksTheProtocol() throws Exception {
        open("c", "");
        guest.send(GuestFrame.newBuilder().setStdio(StdioData.newBuilder().setStreamId(1)
                .setFrame(ByteString.copyFrom(new byte[] {0x7f, 0, 0, 0, 0}))));
        String why = broken.poll(30, TimeUnit.SECONDS);
        assertTrue(why != null && why.contains("stdio"), String.valueOf(why));
    }

    /** Opens stream 1 (the first of this client) as the guest accepts it. */
    private StdioChannel open(String containerId, String execId) throws Exception {
        CompletableFuture<StdioChannel> opening = client.openStream(containerId, execId, REPLY);
        HostFrame open = guest.receive();
        assertTrue(open.hasOpenStream(), open.toString());
        assertEquals(containerId, open.getOpenStream().getContainerId());
        assertEquals(execId, open.getOpenStream().getExecId());
        assertEquals(1, open.getOpenStream().getStreamId());
        guest.send(GuestFrame.newBuilder().setRequestId(open.getRequestId()).setOk(Ok.getDefaultInstance()));
        return opening.get(30, TimeUnit.SECONDS);
    }

    private void sendStdio(long streamId, StdioFrame frame) throws IOException {
        guest.send(GuestFrame.newBuilder().setStdio(StdioData.newBuilder().setStreamId(streamId)
                .setFrame(ByteString.copyFrom(frame.encode()))));
    }

    /** The next host frame, which must be a stdio frame of {@code streamId}. */
    private StdioFrame receivedStdio(long streamId) throws IOException {
        HostFrame frame = guest.receive();
        assertTrue(frame.hasStdio(), "expected a stdio frame, got " + frame);
        assertEquals(streamId, frame.getStdio().getStreamId());
        return AgentStreams.decode(frame.getStdio().getFrame());
    }

    private GuestFrame nextEvent() throws InterruptedException {
        GuestFrame f = events.poll(30, TimeUnit.SECONDS);
        if (f == null) {
            throw new AssertionError("no event within 30 s");
        }
        return f;
    }
}
