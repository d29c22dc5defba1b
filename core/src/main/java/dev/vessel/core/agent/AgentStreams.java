package dev.vessel.core.agent;

import com.google.protobuf.ByteString;
import dev.vessel.core.stdio.StdioFrame;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ProtocolException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The rules of the agent protocol's stdio streams (agent.proto), the same on both ends: a StdioFrame
 * travels encoded, its payload at most {@link #CHUNK_BYTES}, and each direction of a stream has a
 * window of {@link #WINDOW_BYTES} of encoded frames the receiver has not yet given back as credit.
 */
public final class AgentStreams {
    /** The largest payload of one StdioFrame on the agent channel: larger ones are split. */
    public static final int CHUNK_BYTES = 64 << 10;
    /** What a sender may have on the way per stream and direction before the receiver's credit. */
    public static final int WINDOW_BYTES = 256 << 10;

    private AgentStreams() {
    }

    /** The frame as it may travel: output or input in pieces of at most {@link #CHUNK_BYTES}, other frames as they are. */
    public static List<StdioFrame> split(StdioFrame frame) {
        byte[] payload = frame.payload();
        boolean data = frame.type() == StdioFrame.Type.STDIN || frame.type() == StdioFrame.Type.STDOUT
                || frame.type() == StdioFrame.Type.STDERR;
        if (!data || payload.length <= CHUNK_BYTES) {
            return List.of(frame);
        }
        List<StdioFrame> pieces = new ArrayList<>();
        for (int at = 0; at < payload.length; at += CHUNK_BYTES) {
            pieces.add(new StdioFrame(frame.type(), Arrays.copyOfRange(payload, at, Math.min(payload.length, at + CHUNK_BYTES))));
        }
        return pieces;
    }

    /** The one StdioFrame a `stdio` message carries; a peer that sends anything else broke the protocol. */
    public static StdioFrame decode(ByteString encoded) throws ProtocolException {
        if (encoded.size() > CHUNK_BYTES + 5) {
            throw new ProtocolException("a stdio frame of " + encoded.size() + " bytes, over the "
                    + (CHUNK_BYTES >> 10) + " KiB a stream carries in one");
        }
        ByteArrayInputStream in = new ByteArrayInputStream(encoded.toByteArray());
        try {
            StdioFrame frame = StdioFrame.readFrom(in);
            if (frame == null || in.available() != 0) {
                throw new ProtocolException("a stdio message must carry exactly one stdio frame");
            }
            return frame;
        } catch (ProtocolException e) {
            throw e;
        } catch (IOException e) {
            throw new ProtocolException("a stdio message that is no stdio frame: " + e.getMessage());
        }
    }

    /** The bytes a frame counts against its stream's window: its encoded size. */
    public static int size(StdioFrame frame) {
        return 5 + frame.payload().length;
    }

    /** The sender's side of one direction: waits for the receiver's credit before sending more. */
    public static final class SendWindow {
        private long available = WINDOW_BYTES;
        private String closed;

        /** Takes {@code bytes} of the window, waiting until the receiver gave that much back; fails once closed. */
        public synchronized void acquire(int bytes) throws IOException {
            while (closed == null && available < bytes) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting for the stream's window");
                }
            }
            if (closed != null) {
                throw new IOException(closed);
            }
            available -= bytes;
        }

        /** The receiver's credit. */
        public synchronized void grant(long bytes) {
            available = Math.min(available + Math.max(bytes, 0), WINDOW_BYTES);
            notifyAll();
        }

        /** Fails every wait, now and later, with {@code why}. */
        public synchronized void close(String why) {
            if (closed == null) {
                closed = why;
            }
            notifyAll();
        }
    }

    /** The receiver's side of one direction: counts what is held and says when to give credit back. */
    public static final class ReceiveWindow {
        private long held;
        private long consumed;

        /** Takes a frame of {@code bytes}; false when the sender overran the window. */
        public synchronized boolean receive(int bytes) {
            if (held + bytes > WINDOW_BYTES) {
                return false;
            }
            held += bytes;
            return true;
        }

        /**
         * {@code bytes} were handed on; returns the credit to send now: 0 until a quarter of the window was
         * handed on, so that keystrokes and their echoes are not each answered with a credit. The sender
         * then still has three quarters of the window, more than a frame: it never waits on credit held back.
         */
        public synchronized int consume(int bytes) {
            held -= bytes;
            consumed += bytes;
            if (consumed < WINDOW_BYTES / 4) {
                return 0;
            }
            int credit = (int) consumed;
            consumed = 0;
            return credit;
        }
    }
}
