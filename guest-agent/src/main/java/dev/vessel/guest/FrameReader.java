package dev.vessel.guest;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.vessel.core.agent.AgentFrames;
import dev.vessel.core.agent.HostFrame;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.ProtocolException;

/**
 * Reads one connection's host frames: a varint length, then that many bytes of protobuf. A length
 * over {@link AgentFrames#MAX_FRAME_BYTES} is refused as soon as its prefix is read, before any of
 * the body, so a broken host cannot make the guest wait for (or buffer) gigabytes.
 */
final class FrameReader {
    private final InputStream in;

    FrameReader(InputStream in) {
        this.in = in;
    }

    /** The next frame; null at the end of the stream. Fails with a {@link ProtocolException} on a frame over the cap or not a HostFrame. */
    HostFrame next() throws IOException {
        int b = in.read();
        if (b < 0) {
            return null;
        }
        AgentFrames.LengthPrefix prefix = new AgentFrames.LengthPrefix();
        try {
            while (!prefix.add(b)) {
                if ((b = in.read()) < 0) {
                    throw new EOFException("the connection ended inside a frame's length prefix");
                }
            }
        } catch (IllegalStateException e) {
            throw new ProtocolException("the host sent a frame that is not a HostFrame: " + e.getMessage());
        }
        long length = prefix.length();
        if (length > AgentFrames.MAX_FRAME_BYTES) {
            throw new ProtocolException(AgentFrames.overCap("the host", length));
        }
        byte[] body = in.readNBytes((int) length); // reads as the bytes come, never the announced size at once
        if (body.length < length) {
            throw new EOFException("the connection ended inside a frame");
        }
        try {
            return HostFrame.parseFrom(body);
        } catch (InvalidProtocolBufferException e) {
            throw new ProtocolException("the host sent a frame that is not a HostFrame (" + e.getMessage() + ")");
        }
    }
}
