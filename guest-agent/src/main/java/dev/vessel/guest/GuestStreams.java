package dev.vessel.guest;

import com.google.protobuf.ByteString;
import dev.vessel.core.agent.AgentStreams;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.StdioData;
import dev.vessel.core.agent.StreamCredit;
import dev.vessel.core.agent.StreamEnded;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.ProtocolException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The stdio streams of one connection to the host (agent.proto): each relays between a process's
 * stdio channel in the guest and the host, on two virtual threads of its own. Output waits for the
 * host's credit, so an attached client that stops reading stops that process's output (its pty or
 * pipe then fills) and nothing else; input is queued within the stream's window and written by the
 * stream's own thread, so a process that does not read its stdin never holds up the connection's
 * reader. The connection's end ends every stream: the processes run on, detached.
 */
final class GuestStreams {
    private static final System.Logger LOG = System.getLogger(GuestStreams.class.getName());

    private final FrameWriter writer;
    private final Map<Long, Stream> streams = new ConcurrentHashMap<>();
    private volatile boolean closed;

    GuestStreams(FrameWriter writer) {
        this.writer = writer;
    }

    /** Takes a process's stdio under the host's stream id; nothing flows until {@link #start}. */
    void register(long id, StdioChannel channel) {
        try {
            requireFree(id);
        } catch (VesselException e) {
            closeQuietly(channel);
            throw e;
        }
        Stream stream = new Stream(id, channel);
        if (streams.putIfAbsent(id, stream) != null) {
            closeQuietly(channel);
            throw VesselException.invalid("stream_id", "stream " + id + " is open already");
        }
        if (closed) { // the connection ended while the process was being attached
            stream.close();
        }
    }

    /** Fails naming stream_id when {@code id} cannot name a new stream: not above 0, or open already. */
    void requireFree(long id) {
        if (id <= 0) {
            throw VesselException.invalid("stream_id", "a stream needs an id above 0");
        }
        if (streams.containsKey(id)) {
            throw VesselException.invalid("stream_id", "stream " + id + " is open already");
        }
    }

    /** Starts relaying stream {@code id}, once the host was told it is open. */
    void start(long id) {
        Stream stream = streams.get(id);
        if (stream != null) {
            stream.start();
        }
    }

    /** A host frame of a stream (stdio, close_stream, credit), on the connection's reader: never waits. */
    void handle(HostFrame frame) throws ProtocolException {
        switch (frame.getBodyCase()) {
            case STDIO -> {
                Stream stream = streams.get(frame.getStdio().getStreamId());
                if (stream != null) { // else ended here while the host was still writing
                    stream.input(AgentStreams.decode(frame.getStdio().getFrame()));
                }
            }
            case CLOSE_STREAM -> {
                Stream stream = streams.get(frame.getCloseStream().getStreamId());
                if (stream != null) {
                    stream.detach();
                }
            }
            case CREDIT -> {
                Stream stream = streams.get(frame.getCredit().getStreamId());
                if (stream != null) {
                    stream.window.grant(frame.getCredit().getBytes() & 0xFFFFFFFFL);
                }
            }
            default -> throw new IllegalArgumentException(frame.getBodyCase().name());
        }
    }

    /** The connection ended: every stream lets go of its process. */
    void closeAll() {
        closed = true;
        List.copyOf(streams.values()).forEach(Stream::close);
    }

    private static void closeQuietly(StdioChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // detaching: nothing to undo
        }
    }

    private final class Stream {
        final long id;
        final StdioChannel channel;
        final AgentStreams.SendWindow window = new AgentStreams.SendWindow();
        final AgentStreams.ReceiveWindow received = new AgentStreams.ReceiveWindow();
        final Deque<StdioFrame> inbound = new ArrayDeque<>();
        volatile boolean ended;
        /** The host detached: what it sent before is still written, then the stream closes. */
        boolean detaching;
        /** The process's stdin cannot be written any more: input is taken and dropped. */
        boolean inputBroken;

        Stream(long id, StdioChannel channel) {
            this.id = id;
            this.channel = channel;
        }

        void start() {
            Thread.ofVirtual().name("stream-out-" + id).start(this::relayOutput);
            Thread.ofVirtual().name("stream-in-" + id).start(this::relayInput);
        }

        /** The process's frames to the host, within the host's credit; ended with stream_ended. */
        private void relayOutput() {
            String broke = "";
            try {
                for (StdioFrame frame; !ended && (frame = channel.read()) != null; ) {
                    for (StdioFrame piece : AgentStreams.split(frame)) {
                        window.acquire(AgentStreams.size(piece));
                        writer.send(GuestFrame.newBuilder().setStdio(StdioData.newBuilder().setStreamId(id)
                                .setFrame(ByteString.copyFrom(piece.encode()))).build());
                    }
                }
            } catch (IOException e) {
                broke = String.valueOf(e.getMessage());
            }
            if (!ended) {
                try {
                    writer.send(GuestFrame.newBuilder().setStreamEnded(StreamEnded.newBuilder().setStreamId(id)
                            .setMessage(broke)).build());
                } catch (IOException e) {
                    // the connection is gone: its end ends the stream on the host too
                }
            }
            close();
        }

        /** Queues the host's frame for the process; a host that overruns the window loses the stream. */
        void input(StdioFrame frame) {
            synchronized (this) {
                if (ended) {
                    return;
                }
                if (received.receive(AgentStreams.size(frame))) {
                    inbound.add(frame);
                    notifyAll();
                    return;
                }
            }
            LOG.log(Level.WARNING, "the host overran the window of stream {0}: ending it", id);
            try {
                writer.send(GuestFrame.newBuilder().setStreamEnded(StreamEnded.newBuilder().setStreamId(id)
                        .setMessage("the host overran the stream's window")).build());
            } catch (IOException e) {
                // the connection is gone
            }
            close();
        }

        /** Writes the host's frames to the process on this stream's own thread, giving credit back as it goes. */
        private void relayInput() {
            while (true) {
                StdioFrame frame;
                synchronized (this) {
                    while (inbound.isEmpty() && !ended && !detaching) {
                        try {
                            wait();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    if (ended) {
                        return;
                    }
                    frame = inbound.poll();
                }
                if (frame == null) { // detached, and all the host sent before is written (a resize, say)
                    close();
                    return;
                }
                if (!inputBroken) {
                    try {
                        channel.write(frame);
                    } catch (IOException e) {
                        inputBroken = true; // its stdin is closed: what the host sends now goes nowhere
                    }
                }
                int credit = received.consume(AgentStreams.size(frame));
                if (credit > 0) {
                    try {
                        writer.send(GuestFrame.newBuilder().setCredit(StreamCredit.newBuilder().setStreamId(id)
                                .setBytes(credit)).build());
                    } catch (IOException e) {
                        return; // the connection is gone
                    }
                }
            }
        }

        /** The host's detach: closes the stream once the input it sent before is written. */
        synchronized void detach() {
            detaching = true;
            notifyAll();
        }

        /** Detaches from the process (it runs on) and forgets the stream. Idempotent. */
        void close() {
            synchronized (this) {
                if (ended) {
                    return;
                }
                ended = true;
                inbound.clear();
                notifyAll();
            }
            window.close("the stream was closed");
            streams.remove(id, this);
            closeQuietly(channel);
        }
    }
}
