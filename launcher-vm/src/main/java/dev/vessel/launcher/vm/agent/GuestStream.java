package dev.vessel.launcher.vm.agent;

import com.google.protobuf.ByteString;
import dev.vessel.core.agent.AgentStreams;
import dev.vessel.core.agent.CloseStream;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.StdioData;
import dev.vessel.core.agent.StreamCredit;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Consumer;

/**
 * The host's end of one stdio stream of the agent channel (agent.proto): what the guest sends is
 * queued here by the event loop, which never waits (the guest's window bounds the queue), and taken by
 * {@link #read}, which gives the guest credit back as it goes; {@link #write} waits for the guest's
 * credit, so a process that does not read its stdin holds up its writer and nothing else.
 */
final class GuestStream implements StdioChannel {
    private final long id;
    private final Consumer<HostFrame> send;
    private final Runnable forget;
    private final Deque<StdioFrame> inbound = new ArrayDeque<>();
    private final AgentStreams.ReceiveWindow received = new AgentStreams.ReceiveWindow();
    private final AgentStreams.SendWindow sending = new AgentStreams.SendWindow();
    private boolean ended;
    /** Why the stream broke; null after a clean end. */
    private String failure;
    private boolean closed;

    /** {@code send} writes a frame on the connection; {@code forget} drops the stream from its connection's table. */
    GuestStream(long id, Consumer<HostFrame> send, Runnable forget) {
        this.id = id;
        this.send = send;
        this.forget = forget;
    }

    long id() {
        return id;
    }

    // ---------------------------------------------------------------------------------------------
    // from the event loop: never blocks

    /** A frame from the guest; false when it overran its window (the stream is then ended). */
    synchronized boolean deliver(StdioFrame frame) {
        if (ended) {
            return true; // closed by us meanwhile
        }
        if (!received.receive(AgentStreams.size(frame))) {
            end("the guest agent overran the stream's window");
            return false;
        }
        inbound.add(frame);
        notifyAll();
        return true;
    }

    void credit(long bytes) {
        sending.grant(bytes);
    }

    /** The stream ended: cleanly ({@code why} null: after the queued frames, reads return null) or broken. */
    synchronized void end(String why) {
        if (!ended) {
            ended = true;
            failure = why;
        }
        sending.close(why != null ? why : "the guest ended the stream");
        notifyAll();
    }

    // ---------------------------------------------------------------------------------------------
    // the channel

    @Override
    public StdioFrame read() throws IOException {
        StdioFrame frame;
        synchronized (this) {
            while (inbound.isEmpty() && !ended) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while reading a stdio stream");
                }
            }
            frame = inbound.poll();
            if (frame == null) {
                if (failure != null && !closed) {
                    throw new IOException(failure);
                }
                return null;
            }
        }
        int credit = received.consume(AgentStreams.size(frame));
        if (credit > 0 && !isEnded()) {
            send.accept(HostFrame.newBuilder().setCredit(StreamCredit.newBuilder().setStreamId(id).setBytes(credit)).build());
        }
        return frame;
    }

    @Override
    public void write(StdioFrame frame) throws IOException {
        for (StdioFrame piece : AgentStreams.split(frame)) {
            sending.acquire(AgentStreams.size(piece));
            send.accept(HostFrame.newBuilder().setStdio(StdioData.newBuilder().setStreamId(id)
                    .setFrame(ByteString.copyFrom(piece.encode()))).build());
        }
    }

    /** Detaches: the guest is told to let go of the process's stdio, which runs on. */
    @Override
    public void close() {
        boolean tell;
        synchronized (this) {
            closed = true;
            tell = !ended;
            end(null);
            inbound.clear();
        }
        forget.run();
        if (tell) {
            send.accept(HostFrame.newBuilder().setCloseStream(CloseStream.newBuilder().setStreamId(id)).build());
        }
    }

    private synchronized boolean isEnded() {
        return ended;
    }
}
