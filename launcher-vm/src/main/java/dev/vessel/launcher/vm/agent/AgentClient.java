package dev.vessel.launcher.vm.agent;

import dev.vessel.core.agent.AgentFrames;
import dev.vessel.core.agent.AgentStreams;
import dev.vessel.core.agent.CloseStream;
import dev.vessel.core.agent.OpenStream;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.Hello;
import dev.vessel.core.agent.HelloAck;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.LaunchTask;
import dev.vessel.core.agent.Ping;
import dev.vessel.core.agent.ProtocolVersion;
import dev.vessel.core.agent.StartExec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.stdio.StdioChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.handler.codec.protobuf.ProtobufVarint32LengthFieldPrepender;
import io.netty.util.concurrent.ScheduledFuture;
import java.lang.System.Logger.Level;
import java.net.ProtocolException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

/**
 * The host end of the agent protocol (agent.proto) over one unix socket: the handshake, requests
 * answered by id, events handed to a {@link Listener}, and a heartbeat. One connection at a time;
 * {@link #connect()} again after a break (or in a restarted daemon) and the guest says hello anew.
 *
 * <p>The guest is not trusted: a frame over {@link AgentFrames#MAX_FRAME_BYTES}, one that is not a
 * GuestFrame, or an exit no real task can have closes the connection and is reported to
 * {@link Listener#brokeProtocol}; a reply nobody waits for and a frame out of place are dropped.
 */
public final class AgentClient implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(AgentClient.class.getName());

    /**
     * What the client reports besides replies. Called in order on a thread of this client's, not on
     * the event loop: a slow listener holds up only its own guest (which is then read no further).
     */
    public interface Listener {
        /** Hears nothing: a client whose guest has no task yet. */
        Listener NOBODY = frame -> {
        };

        /** An event frame: output, a task's or an exec's exit, a limitation. */
        void event(GuestFrame frame);

        /** The connection closed (the guest or QEMU went away, or {@link #close()}). */
        default void disconnected(Throwable cause) {
        }

        /** Nothing came from the guest for {@code silence}, pings included: it is considered lost. */
        default void silent(Duration silence) {
        }

        /**
         * The guest broke the protocol ({@code why} says how: a frame over the cap or that is not a
         * GuestFrame, an impossible exit); the connection is closed ({@link #disconnected} follows).
         */
        default void brokeProtocol(VesselException why) {
        }
    }

    /**
     * @param heartbeatInterval how often a ping is sent once the handshake is done
     * @param silenceLimit      how long without any frame from the guest before {@link Listener#silent}
     */
    public record Timing(Duration heartbeatInterval, Duration silenceLimit) {
    }

    private final EventLoopGroup group;
    private final Path socket;
    private final Timing timing;
    /** Who hears events now: a warm guest's pool first, then the task it is handed to. */
    private volatile Listener listener;
    private final AtomicLong requestIds = new AtomicLong();
    private final AtomicLong streamIds = new AtomicLong();
    private final EventRelay relay;
    private volatile Connection connection;
    private volatile boolean closed;

    public AgentClient(EventLoopGroup group, Path socket, Timing timing, Listener listener) {
        this.group = group;
        this.socket = socket;
        this.timing = timing;
        this.listener = listener;
        this.relay = new EventRelay(socket.toString());
    }

    /**
     * Connects (dropping any previous connection) and completes with the guest's hello once it was
     * accepted; fails when the guest speaks another protocol version (it is told so and the
     * connection closed) or the connection breaks first. The caller bounds the wait.
     */
    public CompletableFuture<Hello> connect() {
        if (closed) {
            return CompletableFuture.failedFuture(new VesselException(ErrorCode.FAILED_PRECONDITION, "agent",
                    "the agent client of " + socket + " is closed"));
        }
        Connection previous = connection;
        Connection next = new Connection();
        connection = next; // first, so the old connection's end is not reported as this one's
        if (previous != null && previous.channel != null) {
            previous.channel.close();
        }
        new Bootstrap().group(group).channel(EpollDomainSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new GuestFrameDecoder(), new ProtobufVarint32LengthFieldPrepender(),
                                new ProtobufEncoder(), next);
                    }
                })
                .connect(new DomainSocketAddress(socket.toFile()))
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        next.hello.completeExceptionally(new VesselException(ErrorCode.UNAVAILABLE, "agent",
                                "cannot connect to the guest agent's channel " + socket + ": " + f.cause().getMessage(),
                                f.cause()));
                    }
                });
        return next.hello;
    }

    /** From now on events go to {@code listener} (a warm guest changing hands; its channel stays up). */
    public void listenWith(Listener listener) {
        this.listener = listener;
    }

    public boolean isConnected() {
        Connection c = connection;
        return c != null && c.ready && c.channel.isActive();
    }

    /**
     * Sends a request and completes with the guest's reply frame; an {@code error} reply fails it
     * with a {@link VesselException} naming the guest's field, and so does no reply within the timeout.
     * A request over the frame cap is refused here: the guest would refuse it and drop the connection.
     */
    public CompletableFuture<GuestFrame> request(HostFrame.Builder request, Duration timeout) {
        Connection c = connection;
        if (c == null || !c.ready || !c.channel.isActive()) {
            return CompletableFuture.failedFuture(new VesselException(ErrorCode.UNAVAILABLE, "agent",
                    "the guest agent at " + socket + " is not connected"));
        }
        long id = requestIds.incrementAndGet();
        HostFrame frame = request.setRequestId(id).build();
        String what = frame.getBodyCase().name().toLowerCase(Locale.ROOT);
        if (frame.getSerializedSize() > AgentFrames.MAX_FRAME_BYTES) {
            return CompletableFuture.failedFuture(new VesselException(ErrorCode.INVALID_ARGUMENT, what,
                    "the " + what + " request is " + frame.getSerializedSize() + " bytes, over the agent protocol's "
                            + AgentFrames.MAX_FRAME_SIZE + " cap of a frame"));
        }
        Pending pending = new Pending(what, new CompletableFuture<>());
        c.pending.put(id, pending);
        ScheduledFuture<?> timer = c.channel.eventLoop().schedule(() -> {
            if (c.pending.remove(id) != null) {
                pending.reply.completeExceptionally(new VesselException(ErrorCode.UNAVAILABLE, "agent",
                        "the guest agent did not answer the " + what + " request within " + timeout.toSeconds() + " s"));
            }
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        pending.reply.whenComplete((r, e) -> timer.cancel(false));
        c.channel.writeAndFlush(frame).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess() && c.pending.remove(id) != null) {
                pending.reply.completeExceptionally(new VesselException(ErrorCode.UNAVAILABLE, "agent",
                        "cannot send the " + what + " request to the guest agent: " + f.cause().getMessage(), f.cause()));
            }
        });
        return pending.reply;
    }

    /**
     * Opens a stdio stream on the task's stdio ({@code execId} empty) or an exec's and completes with
     * it once the guest attached; the stream ends with the connection.
     */
    public CompletableFuture<StdioChannel> openStream(String containerId, String execId, Duration timeout) {
        return stream(id -> HostFrame.newBuilder().setOpenStream(OpenStream.newBuilder().setStreamId(id)
                .setContainerId(containerId).setExecId(execId)), timeout).thenApply(Opened::stream);
    }

    /**
     * Has the guest launch the task (its stream id set here) attached to its stdio before its start, and
     * completes with its reply and that stream once it started.
     */
    public CompletableFuture<Opened> launchAttached(LaunchTask launch, Duration timeout) {
        return stream(id -> HostFrame.newBuilder().setLaunch(launch.toBuilder().setStreamId(id)), timeout);
    }

    /** A request's reply, and the stream that it opened. */
    public record Opened(GuestFrame reply, StdioChannel stream) {
    }

    /**
     * Has the guest run {@code exec} (its stream id set here) with a stdio stream on it made before it runs,
     * and completes with that stream once it runs.
     */
    public CompletableFuture<StdioChannel> execAttached(StartExec exec, Duration timeout) {
        return stream(id -> HostFrame.newBuilder().setExec(exec.toBuilder().setStreamId(id)), timeout)
                .thenApply(Opened::stream);
    }

    /** A new stream, and the request (made for its id) whose ok says the guest opened it. */
    private CompletableFuture<Opened> stream(LongFunction<HostFrame.Builder> request, Duration timeout) {
        Connection c = connection;
        if (c == null || !c.ready || !c.channel.isActive()) {
            return CompletableFuture.failedFuture(new VesselException(ErrorCode.UNAVAILABLE, "agent",
                    "the guest agent at " + socket + " is not connected"));
        }
        long id = streamIds.incrementAndGet();
        GuestStream stream = new GuestStream(id, c.channel::writeAndFlush, () -> c.streams.remove(id));
        c.streams.put(id, stream); // before the request: the guest's frames may follow its ok at once
        if (!c.channel.isActive()) {
            c.streams.remove(id);
            stream.end("the guest agent's channel " + socket + " closed");
        }
        return request(request.apply(id), timeout)
                .thenApply(reply -> new Opened(reply, stream))
                .whenComplete((s, e) -> {
                    if (e != null) {
                        c.streams.remove(id);
                        stream.end(e.getMessage());
                    }
                });
    }

    @Override
    public void close() {
        closed = true;
        Connection c = connection;
        if (c != null && c.channel != null) {
            c.channel.close().syncUninterruptibly();
        }
    }

    private record Pending(String what, CompletableFuture<GuestFrame> reply) {
    }

    /** One connection: its handshake, its requests in flight, its heartbeat. */
    private final class Connection extends SimpleChannelInboundHandler<GuestFrame> {
        final CompletableFuture<Hello> hello = new CompletableFuture<>();
        final Map<Long, Pending> pending = new ConcurrentHashMap<>();
        /** Its open stdio streams, by id: fed on the event loop, never waited for there. */
        final Map<Long, GuestStream> streams = new ConcurrentHashMap<>();
        volatile Channel channel;
        volatile boolean ready;
        private long lastFrameNanos;
        private boolean reportedSilent;
        private ScheduledFuture<?> heartbeat;
        /** The guest broke the protocol: what it sends is no longer read. */
        private boolean refused;
        /** Dropped frames are logged once per connection: a guest cannot flood the log. */
        private boolean loggedDropped;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channel = ctx.channel();
            lastFrameNanos = System.nanoTime();
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            channel = ctx.channel();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, GuestFrame frame) {
            if (refused) {
                return; // frames decoded in the same read as the one refused
            }
            lastFrameNanos = System.nanoTime();
            reportedSilent = false;
            if (!ready) {
                handshake(ctx, frame);
                return;
            }
            if (frame.getRequestId() == 0) {
                switch (frame.getBodyCase()) {
                    case STDIO, STREAM_ENDED, CREDIT -> stream(ctx, frame);
                    default -> event(ctx, frame);
                }
                return;
            }
            Pending p = pending.remove(frame.getRequestId());
            if (p == null) {
                // answered after its timeout, or never asked
                dropped("a " + frame.getBodyCase() + " reply to request " + frame.getRequestId()
                        + ", which no request waits for");
                return;
            }
            if (frame.hasError()) {
                String field = frame.getError().getField();
                p.reply.completeExceptionally(new VesselException(code(frame.getError()), field.isEmpty() ? null : field,
                        "the guest agent refused the " + p.what + " request: " + frame.getError().getMessage()));
            } else {
                p.reply.complete(frame);
            }
        }

        /**
         * A refusal naming a field is the request's fault, one naming none the guest's; a guest's FAILED_PRECONDITION
         * (its task busy or ended as things stand) stays one, which callers take as "it ended in between". Any
         * other code a guest names is not taken: a guest does not choose how the host reports its errors.
         */
        private static ErrorCode code(dev.vessel.core.agent.Error error) {
            if (error.getCode().equals(ErrorCode.FAILED_PRECONDITION.name())) {
                return ErrorCode.FAILED_PRECONDITION;
            }
            return error.getField().isEmpty() ? ErrorCode.INTERNAL : ErrorCode.INVALID_ARGUMENT;
        }

        private void event(ChannelHandlerContext ctx, GuestFrame frame) {
            switch (frame.getBodyCase()) {
                case OUTPUT, LIMITATION -> {
                }
                case EXITED -> {
                    try {
                        GuestExitCheck.check(frame.getExited());
                    } catch (VesselException e) {
                        refuse(ctx, e);
                        return;
                    }
                }
                case EXEC_EXITED -> {
                    int status = frame.getExecExited().getStatus();
                    if (status < 0 || status > 255) {
                        refuse(ctx, new VesselException(ErrorCode.INVALID_ARGUMENT, "exec_exited.status",
                                "the guest agent reported exec '" + frame.getExecExited().getExecId()
                                        + "' ended with status " + status + ", which no process has"));
                        return;
                    }
                }
                case HELLO -> {
                    LOG.log(Level.WARNING, "the guest agent at {0} said hello twice on one connection", socket);
                    return;
                }
                default -> {
                    dropped("a " + frame.getBodyCase() + " frame without a request id");
                    return;
                }
            }
            relay.hand(ctx.channel(), frame.getSerializedSize(), () -> listener.event(frame));
        }

        /** A stream's frame, handled here on the event loop: each stream's queue is bounded by its window. */
        private void stream(ChannelHandlerContext ctx, GuestFrame frame) {
            switch (frame.getBodyCase()) {
                case STDIO -> {
                    GuestStream stream = streams.get(frame.getStdio().getStreamId());
                    if (stream == null) {
                        return; // closed by the host while the guest was still sending
                    }
                    try {
                        if (!stream.deliver(AgentStreams.decode(frame.getStdio().getFrame()))) {
                            streams.remove(stream.id());
                            ctx.writeAndFlush(HostFrame.newBuilder().setCloseStream(CloseStream.newBuilder()
                                    .setStreamId(stream.id())).build());
                            dropped("more on stream " + stream.id() + " than its window allows");
                        }
                    } catch (ProtocolException e) {
                        refuse(ctx, new VesselException(ErrorCode.INVALID_ARGUMENT, "stdio", "the guest agent sent "
                                + e.getMessage()));
                    }
                }
                case STREAM_ENDED -> {
                    GuestStream stream = streams.remove(frame.getStreamEnded().getStreamId());
                    if (stream != null) {
                        String message = frame.getStreamEnded().getMessage();
                        stream.end(message.isEmpty() ? null : "the guest agent ended the stream: " + message);
                    }
                }
                case CREDIT -> {
                    GuestStream stream = streams.get(frame.getCredit().getStreamId());
                    if (stream != null) {
                        stream.credit(frame.getCredit().getBytes() & 0xFFFFFFFFL);
                    }
                }
                default -> throw new IllegalStateException(frame.getBodyCase().name());
            }
        }

        private void dropped(String what) {
            if (!loggedDropped) {
                loggedDropped = true;
                LOG.log(Level.WARNING, "the guest agent at {0} sent {1}: ignored (and any more such frames on this "
                        + "connection)", socket, what);
            }
        }

        /** Ends the connection of a guest that broke the protocol, and says why. */
        private void refuse(ChannelHandlerContext ctx, VesselException why) {
            if (refused) {
                return;
            }
            refused = true;
            LOG.log(Level.WARNING, "closing the agent channel {0}: {1}", socket, why.getMessage());
            hello.completeExceptionally(why);
            if (connection == this) {
                relay.hand(null, 0, () -> listener.brokeProtocol(why));
            }
            ctx.close();
        }

        private void handshake(ChannelHandlerContext ctx, GuestFrame frame) {
            if (!frame.hasHello()) {
                hello.completeExceptionally(new VesselException(ErrorCode.INTERNAL, "agent",
                        "the guest agent sent " + frame.getBodyCase() + " before its hello"));
                ctx.close();
                return;
            }
            ProtocolVersion version = frame.getHello().getVersion();
            if (version != ProtocolVersion.V1) {
                String why = "this host speaks agent protocol V1, not " + version + " ("
                        + frame.getHello().getVersionValue() + ")";
                ctx.writeAndFlush(HostFrame.newBuilder().setHelloAck(HelloAck.newBuilder().setRefused(true)
                        .setMessage(why)).build()).addListener(ChannelFutureListener.CLOSE);
                hello.completeExceptionally(new VesselException(ErrorCode.FAILED_PRECONDITION, "agent",
                        "refused the guest agent " + frame.getHello().getAgentVersion() + ": " + why));
                return;
            }
            ctx.writeAndFlush(HostFrame.newBuilder().setHelloAck(HelloAck.getDefaultInstance()).build());
            ready = true;
            long interval = timing.heartbeatInterval().toMillis();
            heartbeat = ctx.executor().scheduleAtFixedRate(this::beat, interval, interval, TimeUnit.MILLISECONDS);
            hello.complete(frame.getHello());
        }

        private void beat() {
            if (relay.isHoldingBack()) {
                lastFrameNanos = System.nanoTime(); // not read because our listener is behind: not its silence
                return;
            }
            Duration silence = Duration.ofNanos(System.nanoTime() - lastFrameNanos);
            if (silence.compareTo(timing.silenceLimit()) > 0) {
                if (!reportedSilent) {
                    reportedSilent = true;
                    relay.hand(null, 0, () -> listener.silent(silence));
                }
                return;
            }
            // The pong itself does not matter: any frame shows the guest is alive.
            request(HostFrame.newBuilder().setPing(Ping.getDefaultInstance()), timing.silenceLimit())
                    .exceptionally(e -> null);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (heartbeat != null) {
                heartbeat.cancel(false);
            }
            VesselException gone = new VesselException(ErrorCode.UNAVAILABLE, "agent",
                    "the guest agent's channel " + socket + " closed");
            hello.completeExceptionally(gone);
            pending.values().forEach(p -> p.reply.completeExceptionally(gone));
            pending.clear();
            streams.values().forEach(s -> s.end(gone.getMessage()));
            streams.clear();
            if (connection == this) {
                relay.hand(null, 0, () -> listener.disconnected(gone));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof GuestFrameDecoder.Refused r) {
                refuse(ctx, new VesselException(ErrorCode.INVALID_ARGUMENT, null, r.getMessage()));
                return;
            }
            LOG.log(Level.WARNING, "agent channel {0} failed: {1}", socket, cause.getMessage());
            ctx.close();
        }
    }
}
