package dev.vessel.launcher.vm.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.Hello;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.Ok;
import dev.vessel.core.agent.OutputChunk;
import dev.vessel.core.agent.SignalTask;
import dev.vessel.core.agent.Stream;
import dev.vessel.core.agent.TaskExited;
import dev.vessel.core.agent.UsageRequest;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Termination;
import com.google.protobuf.ByteString;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The host end of the agent protocol against a fake guest on a real unix socket. */
class AgentClientTest {
    private static final Duration REPLY = Duration.ofSeconds(30);
    /** Long enough that the heartbeat stays out of the way of tests about other things. */
    private static final AgentClient.Timing QUIET = new AgentClient.Timing(Duration.ofMinutes(5), Duration.ofMinutes(10));

    @RegisterExtension
    static final AgentLoop LOOP = new AgentLoop();

    @TempDir
    Path dir;
    private FakeGuest guest;
    private final Events events = new Events();
    private AgentClient client;

    @BeforeEach
    void startGuest() throws Exception {
        guest = new FakeGuest(dir.resolve("agent.sock"));
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        guest.close();
    }

    @Test
    void handshakeAcceptsV1AndAnswersHelloAck() throws Exception {
        client = client(QUIET);
        CompletableFuture<Hello> hello = client.connect();
        guest.accept().sayHello();

        assertEquals("fake-1", hello.get(30, TimeUnit.SECONDS).getAgentVersion());
        HostFrame ack = guest.receive();
        assertTrue(ack.hasHelloAck());
        assertFalse(ack.getHelloAck().getRefused());
        assertTrue(client.isConnected());
    }

    @Test
    void anUnknownProtocolVersionIsRefusedAndTheStreamClosed() throws Exception {
        client = client(QUIET);
        CompletableFuture<Hello> hello = client.connect();
        guest.accept().send(GuestFrame.newBuilder().setHello(Hello.newBuilder().setVersionValue(7)
                .setAgentVersion("future-9")));

        ExecutionException e = assertThrows(ExecutionException.class, () -> hello.get(30, TimeUnit.SECONDS));
        VesselException refusal = assertInstanceOf(VesselException.class, e.getCause());
        assertEquals(ErrorCode.FAILED_PRECONDITION, refusal.code());
        assertTrue(refusal.getMessage().contains("future-9") && refusal.getMessage().contains("V1"), refusal.getMessage());
        HostFrame ack = guest.receive();
        assertTrue(ack.getHelloAck().getRefused());
        assertTrue(ack.getHelloAck().getMessage().contains("V1"), ack.getHelloAck().getMessage());
        assertNull(guest.receive(), "the host closes the stream after refusing");
        assertFalse(client.isConnected());
    }

    @Test
    void repliesFindTheirRequestByIdWhileEventsInterleave() throws Exception {
        connect(QUIET);
        CompletableFuture<GuestFrame> signal = client.request(HostFrame.newBuilder().setSignal(SignalTask.newBuilder()
                .setContainerId("c").setSignal(15)), REPLY);
        CompletableFuture<GuestFrame> usage = client.request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder()
                .setContainerId("c")), REPLY);
        HostFrame first = guest.receive();
        HostFrame second = guest.receive();
        assertTrue(first.hasSignal() && second.hasUsage());
        assertTrue(first.getRequestId() > 0 && second.getRequestId() > 0);
        assertFalse(first.getRequestId() == second.getRequestId());

        // Answered in the other order, with events in between.
        guest.send(GuestFrame.newBuilder().setOutput(OutputChunk.newBuilder().setContainerId("c")
                .setStream(Stream.STDOUT).setData(ByteString.copyFromUtf8("hello\n"))));
        guest.send(GuestFrame.newBuilder().setRequestId(second.getRequestId())
                .setUsage(ResourceStatistics.newBuilder().setMemoryUsageBytes(4096)));
        guest.send(GuestFrame.newBuilder().setExited(TaskExited.newBuilder().setContainerId("c")
                .setTermination(Termination.newBuilder().setExitCode(3))));
        guest.send(GuestFrame.newBuilder().setRequestId(first.getRequestId()).setOk(Ok.getDefaultInstance()));

        assertEquals(4096, usage.get(30, TimeUnit.SECONDS).getUsage().getMemoryUsageBytes());
        assertTrue(signal.get(30, TimeUnit.SECONDS).hasOk());
        assertEquals("hello\n", events.next().getOutput().getData().toStringUtf8());
        assertEquals(3, events.next().getExited().getTermination().getExitCode());
    }

    @Test
    void anErrorReplyFailsTheRequestNamingTheGuestsField() throws Exception {
        connect(QUIET);
        CompletableFuture<GuestFrame> reply = client.request(HostFrame.newBuilder().setSignal(SignalTask.newBuilder()
                .setContainerId("c").setSignal(99)), REPLY);
        HostFrame request = guest.receive();
        guest.send(GuestFrame.newBuilder().setRequestId(request.getRequestId()).setError(
                dev.vessel.core.agent.Error.newBuilder().setField("signal").setMessage("99 is not a signal")));

        ExecutionException e = assertThrows(ExecutionException.class, () -> reply.get(30, TimeUnit.SECONDS));
        VesselException error = assertInstanceOf(VesselException.class, e.getCause());
        assertEquals("signal", error.field().orElseThrow());
        assertEquals(ErrorCode.INVALID_ARGUMENT, error.code());
        assertTrue(error.getMessage().contains("99 is not a signal"), error.getMessage());
    }

    /** The guest's task busy or ended as things stand: the host reports it so too, and no other code it names. */
    @Test
    void aGuestsFailedPreconditionStaysOneAndNoOtherCodeIsTaken() throws Exception {
        connect(QUIET);
        CompletableFuture<GuestFrame> busy = client.request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder()
                .setContainerId("c")), REPLY);
        HostFrame first = guest.receive();
        guest.send(GuestFrame.newBuilder().setRequestId(first.getRequestId()).setError(dev.vessel.core.agent.Error
                .newBuilder().setField("c").setMessage("container 'c' is RUNNING and busy").setCode("FAILED_PRECONDITION")));
        ExecutionException e = assertThrows(ExecutionException.class, () -> busy.get(30, TimeUnit.SECONDS));
        assertEquals(ErrorCode.FAILED_PRECONDITION, assertInstanceOf(VesselException.class, e.getCause()).code());

        CompletableFuture<GuestFrame> claimed = client.request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder()
                .setContainerId("c")), REPLY);
        HostFrame second = guest.receive();
        guest.send(GuestFrame.newBuilder().setRequestId(second.getRequestId()).setError(dev.vessel.core.agent.Error
                .newBuilder().setMessage("no such thing").setCode("NOT_FOUND")));
        e = assertThrows(ExecutionException.class, () -> claimed.get(30, TimeUnit.SECONDS));
        assertEquals(ErrorCode.INTERNAL, assertInstanceOf(VesselException.class, e.getCause()).code());
    }

    @Test
    void aBrokenConnectionFailsWhatIsInFlightAndIsReported() throws Exception {
        connect(QUIET);
        CompletableFuture<GuestFrame> reply = client.request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder()
                .setContainerId("c")), REPLY);
        guest.receive();
        guest.hangUp();

        ExecutionException e = assertThrows(ExecutionException.class, () -> reply.get(30, TimeUnit.SECONDS));
        assertEquals(ErrorCode.UNAVAILABLE, assertInstanceOf(VesselException.class, e.getCause()).code());
        assertTrue(events.disconnected.poll(30, TimeUnit.SECONDS) != null, "the listener hears of the break");
        assertFalse(client.isConnected());
    }

    @Test
    void reconnectsAndGetsWhatTheGuestReSendsAfterTheNewHello() throws Exception {
        connect(QUIET);
        // The daemon goes away: a new client, as after a restart, connects to the same guest.
        client.close();
        AgentClient restarted = client(QUIET);
        try {
            CompletableFuture<Hello> hello = restarted.connect();
            guest.accept().sayHello();
            hello.get(30, TimeUnit.SECONDS);
            assertTrue(guest.receive().hasHelloAck());
            guest.send(GuestFrame.newBuilder().setExited(TaskExited.newBuilder().setContainerId("c")
                    .setTermination(Termination.newBuilder().setSignal(9))));
            assertEquals(9, events.next().getExited().getTermination().getSignal());

            // And the same client connects again after a break.
            CompletableFuture<Hello> again = restarted.connect();
            guest.accept().sayHello();
            again.get(30, TimeUnit.SECONDS);
            assertTrue(guest.receive().hasHelloAck());
            CompletableFuture<GuestFrame> reply = restarted.request(HostFrame.newBuilder().setUsage(
                    UsageRequest.newBuilder().setContainerId("c")), REPLY);
            HostFrame request = guest.receive();
            guest.send(GuestFrame.newBuilder().setRequestId(request.getRequestId())
                    .setUsage(ResourceStatistics.newBuilder().setPidsCurrent(2)));
            assertEquals(2, reply.get(30, TimeUnit.SECONDS).getUsage().getPidsCurrent());
        } finally {
            restarted.close();
        }
    }

    @Test
    void heartbeatPingsAndASilentGuestIsReported() throws Exception {
        connect(new AgentClient.Timing(Duration.ofMillis(50), Duration.ofMillis(500)));
        HostFrame ping = guest.receive();
        assertTrue(ping.hasPing(), ping.toString());
        assertTrue(ping.getRequestId() > 0);
        // The guest stops answering: the client reports it once the silence limit passed.
        Duration silence = events.silent.poll(30, TimeUnit.SECONDS);
        assertTrue(silence != null && silence.toMillis() >= 500, "silence reported: " + silence);
    }

    @Test
    void requestsBeforeTheHandshakeAreRefused() throws Exception {
        client = client(QUIET);
        CompletableFuture<GuestFrame> reply = client.request(HostFrame.newBuilder().setUsage(UsageRequest.getDefaultInstance()), REPLY);
        ExecutionException e = assertThrows(ExecutionException.class, () -> reply.get(30, TimeUnit.SECONDS));
        assertEquals(ErrorCode.UNAVAILABLE, assertInstanceOf(VesselException.class, e.getCause()).code());
    }

    // ---------------------------------------------------------------------------------------------
    // a guest that speaks the protocol badly

    @Test
    void aFrameAnnouncedOverTheCapClosesTheConnectionWithoutWaitingForItsBody() throws Exception {
        connect(QUIET);
        guest.sendRaw(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08}); // 2 GiB, and no more

        assertNull(guest.receive(), "the host closes the stream on the length alone");
        VesselException why = events.nextBrokenProtocol();
        assertEquals("the guest agent sent a frame of 2147483648 bytes, over the 1 MiB cap", why.getMessage());
        assertTrue(events.disconnected.poll(30, TimeUnit.SECONDS) != null, "the listener hears of the break");
        assertFalse(client.isConnected());
    }

    @Test
    void aFrameAnnouncedAtOneGibibyteIsRefusedOnItsLengthAlone() throws Exception {
        connect(QUIET);
        guest.sendRaw(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x04}); // 1 GiB, and no more

        assertNull(guest.receive(), "the host closes the stream rather than wait for the body");
        assertEquals("the guest agent sent a frame of 1073741824 bytes, over the 1 MiB cap",
                events.nextBrokenProtocol().getMessage());
    }

    @Test
    void aFrameJustOverTheCapIsRefusedAndOneAtTheCapIsNot() throws Exception {
        connect(QUIET);
        // Output data that makes the whole frame exactly the cap: taken.
        OutputChunk.Builder chunk = OutputChunk.newBuilder().setContainerId("c").setStream(Stream.STDOUT);
        int overhead = GuestFrame.newBuilder().setOutput(chunk.clone().setData(ByteString.copyFrom(new byte[1 << 19])))
                .build().getSerializedSize() - (1 << 19);
        int data = dev.vessel.core.agent.AgentFrames.MAX_FRAME_BYTES - overhead;
        // the length varint of the data field may shrink by a byte with the data: settle exactly
        while (GuestFrame.newBuilder().setOutput(chunk.clone().setData(ByteString.copyFrom(new byte[data])))
                .build().getSerializedSize() > dev.vessel.core.agent.AgentFrames.MAX_FRAME_BYTES) {
            data--;
        }
        guest.send(GuestFrame.newBuilder().setOutput(chunk.clone().setData(ByteString.copyFrom(new byte[data]))));
        assertEquals(data, events.next().getOutput().getData().size());

        try {
            guest.send(GuestFrame.newBuilder().setOutput(chunk.clone().setData(ByteString.copyFrom(new byte[data + 8]))));
        } catch (java.io.IOException e) {
            // the host refused on the length and closed before the body was all written
        }
        assertTrue(events.nextBrokenProtocol().getMessage().contains("over the 1 MiB cap"));
        assertNull(guest.receive());
    }

    @Test
    void bytesThatAreNotAGuestFrameCloseTheConnection() throws Exception {
        connect(QUIET);
        guest.sendRaw(new byte[] {4, 0x0f, (byte) 0xff, (byte) 0xff, (byte) 0xff}); // field 1 of wire type 7

        VesselException why = events.nextBrokenProtocol();
        assertTrue(why.getMessage().startsWith("the guest agent sent a frame that is not a GuestFrame"),
                why.getMessage());
        assertNull(guest.receive());
        assertFalse(client.isConnected());
    }

    @Test
    void garbageInsteadOfAHelloFailsTheHandshakeNamingIt() throws Exception {
        client = client(QUIET);
        CompletableFuture<Hello> hello = client.connect();
        guest.accept().sendRaw(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1});

        ExecutionException e = assertThrows(ExecutionException.class, () -> hello.get(30, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("not a GuestFrame"), e.getCause().getMessage());
        assertNull(guest.receive());
    }

    @Test
    void aReplyToNoRequestIsIgnoredAndTheConnectionServesOn() throws Exception {
        connect(QUIET);
        for (long id : new long[] {999, 1000, Long.MAX_VALUE}) {
            guest.send(GuestFrame.newBuilder().setRequestId(id).setOk(Ok.getDefaultInstance()));
        }
        guest.send(GuestFrame.newBuilder().setOk(Ok.getDefaultInstance())); // a reply with no id: no event either

        CompletableFuture<GuestFrame> reply = client.request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder()
                .setContainerId("c")), REPLY);
        HostFrame request = guest.receive();
        guest.send(GuestFrame.newBuilder().setRequestId(request.getRequestId())
                .setUsage(ResourceStatistics.newBuilder().setPidsCurrent(3)));
        assertEquals(3, reply.get(30, TimeUnit.SECONDS).getUsage().getPidsCurrent());
        assertTrue(client.isConnected());
        assertTrue(events.frames.isEmpty(), "no event from stray replies: " + events.frames);
        assertTrue(events.broken.isEmpty(), "stray replies break nothing: " + events.broken);
    }

    @Test
    void anImpossibleExitIsRefusedNamingTheFieldAndNeverReported() throws Exception {
        connect(QUIET);
        guest.send(GuestFrame.newBuilder().setExited(TaskExited.newBuilder().setContainerId("c")
                .setTermination(Termination.newBuilder().setExitCode(-1))));

        VesselException why = events.nextBrokenProtocol();
        assertEquals("exited.termination.exit_code", why.field().orElseThrow());
        assertTrue(why.getMessage().contains("exit code -1"), why.getMessage());
        assertNull(guest.receive(), "the host closes the stream of a guest reporting garbage");
        assertTrue(events.frames.isEmpty(), "the impossible exit reached the listener: " + events.frames);
    }

    @Test
    void eventsForAnotherTaskThanTheGuestsAreIgnored() throws Exception {
        client = new AgentClient(LOOP.group(), dir.resolve("agent.sock"), QUIET, new OneTaskListener("c", events));
        CompletableFuture<Hello> hello = client.connect();
        guest.accept().sayHello();
        hello.get(30, TimeUnit.SECONDS);
        assertTrue(guest.receive().hasHelloAck());

        guest.send(GuestFrame.newBuilder().setExited(TaskExited.newBuilder().setContainerId("other")
                .setTermination(Termination.newBuilder().setExitCode(0))));
        guest.send(GuestFrame.newBuilder().setOutput(OutputChunk.newBuilder().setContainerId("other")
                .setStream(Stream.STDOUT).setData(ByteString.copyFromUtf8("not mine\n"))));
        guest.send(GuestFrame.newBuilder().setOutput(OutputChunk.newBuilder().setContainerId("c")
                .setStream(Stream.STDOUT).setData(ByteString.copyFromUtf8("mine\n"))));

        assertEquals("mine\n", events.next().getOutput().getData().toStringUtf8());
        assertTrue(events.frames.isEmpty(), "events of another task got through: " + events.frames);
        assertTrue(client.isConnected());
    }

    @Test
    void aRequestOverTheCapIsRefusedBeforeItIsSent() throws Exception {
        connect(QUIET);
        CompletableFuture<GuestFrame> reply = client.request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder()
                .setContainerId("x".repeat(2 << 20))), REPLY);

        ExecutionException e = assertThrows(ExecutionException.class, () -> reply.get(30, TimeUnit.SECONDS));
        VesselException refusal = assertInstanceOf(VesselException.class, e.getCause());
        assertEquals(ErrorCode.INVALID_ARGUMENT, refusal.code());
        assertEquals("usage", refusal.field().orElseThrow());
        assertTrue(refusal.getMessage().contains("over the agent protocol's 1 MiB cap"), refusal.getMessage());
        assertTrue(client.isConnected());
    }

    @Test
    void aGuestFloodingASlowListenerDoesNotHoldUpAnotherGuest() throws Exception {
        // The first guest's listener is stuck (a slow disk) while its guest floods output.
        CountDownLatch disk = new CountDownLatch(1);
        BlockingQueue<GuestFrame> written = new LinkedBlockingQueue<>();
        AgentClient.Listener slow = frame -> {
            try {
                disk.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            written.add(frame);
        };
        client = new AgentClient(LOOP.group(), dir.resolve("agent.sock"), QUIET, slow);
        CompletableFuture<Hello> hello = client.connect();
        guest.accept().sayHello();
        hello.get(30, TimeUnit.SECONDS);
        assertTrue(guest.receive().hasHelloAck());
        int chunks = 200; // 12.5 MiB: more than the host holds for a listener that is behind
        Thread flood = Thread.ofVirtual().start(() -> {
            try {
                for (int i = 0; i < chunks; i++) {
                    byte[] data = new byte[64 << 10];
                    data[0] = (byte) i;
                    guest.send(GuestFrame.newBuilder().setOutput(OutputChunk.newBuilder().setContainerId("c")
                            .setStream(Stream.STDOUT).setData(ByteString.copyFrom(data))));
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });

        // Meanwhile a second guest on the same event loop shakes hands and answers a ping.
        try (FakeGuest other = new FakeGuest(dir.resolve("other.sock"));
                AgentClient otherClient = new AgentClient(LOOP.group(), dir.resolve("other.sock"), QUIET, events)) {
            CompletableFuture<Hello> otherHello = otherClient.connect();
            other.accept().sayHello();
            otherHello.get(30, TimeUnit.SECONDS);
            assertTrue(other.receive().hasHelloAck());
            CompletableFuture<GuestFrame> pong = otherClient.request(HostFrame.newBuilder()
                    .setPing(dev.vessel.core.agent.Ping.getDefaultInstance()), REPLY);
            HostFrame ping = other.receive();
            other.send(GuestFrame.newBuilder().setRequestId(ping.getRequestId())
                    .setPong(dev.vessel.core.agent.Pong.getDefaultInstance()));
            assertTrue(pong.get(30, TimeUnit.SECONDS).hasPong());
        }

        // Once the listener catches up, the flood arrives whole and in order.
        disk.countDown();
        for (int i = 0; i < chunks; i++) {
            GuestFrame frame = written.poll(30, TimeUnit.SECONDS);
            assertTrue(frame != null, "chunk " + i + " never reached the listener");
            assertEquals((byte) i, frame.getOutput().getData().byteAt(0));
        }
        flood.join(Duration.ofSeconds(30));
        assertFalse(flood.isAlive(), "the flooding guest is still blocked");
        assertTrue(client.isConnected());
    }

    private void connect(AgentClient.Timing timing) throws Exception {
        client = client(timing);
        CompletableFuture<Hello> hello = client.connect();
        guest.accept().sayHello();
        hello.get(30, TimeUnit.SECONDS);
        assertTrue(guest.receive().hasHelloAck());
    }

    private AgentClient client(AgentClient.Timing timing) {
        return new AgentClient(LOOP.group(), dir.resolve("agent.sock"), timing, events);
    }

    /** What the listener heard, in order. */
    private static final class Events implements AgentClient.Listener {
        final BlockingQueue<GuestFrame> frames = new LinkedBlockingQueue<>();
        final BlockingQueue<Throwable> disconnected = new LinkedBlockingQueue<>();
        final BlockingQueue<Duration> silent = new LinkedBlockingQueue<>();
        final BlockingQueue<VesselException> broken = new LinkedBlockingQueue<>();

        @Override
        public void event(GuestFrame frame) {
            frames.add(frame);
        }

        @Override
        public void disconnected(Throwable cause) {
            disconnected.add(cause);
        }

        @Override
        public void silent(Duration silence) {
            silent.add(silence);
        }

        @Override
        public void brokeProtocol(VesselException why) {
            broken.add(why);
        }

        VesselException nextBrokenProtocol() throws InterruptedException {
            VesselException why = broken.poll(30, TimeUnit.SECONDS);
            if (why == null) {
                throw new AssertionError("no protocol breach reported within 30 s");
            }
            return why;
        }

        GuestFrame next() throws InterruptedException {
            GuestFrame frame = frames.poll(30, TimeUnit.SECONDS);
            if (frame == null) {
                throw new AssertionError("no event within 30 s");
            }
            return frame;
        }
    }
}
