package dev.vessel.launcher.vm.agent;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.vessel.core.agent.AgentFrames;
import dev.vessel.core.agent.GuestFrame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import java.util.List;

/**
 * Turns the guest's bytes into {@link GuestFrame}s: a varint length, then that many bytes of
 * protobuf. A length over {@link AgentFrames#MAX_FRAME_BYTES} is refused as soon as its prefix is
 * read, before any of the body is buffered, and so is a body that is not a GuestFrame; either fails
 * with a {@link Refused} and everything after it on the connection is dropped unread.
 */
final class GuestFrameDecoder extends ByteToMessageDecoder {
    /** A frame the host will not take; the message says why, for the task's end. */
    static final class Refused extends DecoderException {
        Refused(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final String SENDER = "the guest agent";
    private boolean refused;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (refused) {
            in.skipBytes(in.readableBytes());
            return;
        }
        in.markReaderIndex();
        AgentFrames.LengthPrefix prefix = new AgentFrames.LengthPrefix();
        try {
            do {
                if (!in.isReadable()) {
                    in.resetReaderIndex(); // the prefix is not complete yet
                    return;
                }
            } while (!prefix.add(in.readUnsignedByte()));
        } catch (IllegalStateException e) {
            throw refuse(SENDER + " sent a frame that is not a GuestFrame: " + e.getMessage(), null, in);
        }
        long length = prefix.length();
        if (length > AgentFrames.MAX_FRAME_BYTES) {
            throw refuse(AgentFrames.overCap(SENDER, length), null, in);
        }
        if (in.readableBytes() < length) {
            in.resetReaderIndex(); // the body is not all here yet; at most the cap is ever buffered
            return;
        }
        ByteBuf body = in.readSlice((int) length);
        try {
            out.add(GuestFrame.parseFrom(body.nioBuffer()));
        } catch (InvalidProtocolBufferException e) {
            throw refuse(SENDER + " sent a frame that is not a GuestFrame (" + e.getMessage() + ")", e, in);
        }
    }

    private Refused refuse(String why, Throwable cause, ByteBuf in) {
        refused = true;
        in.skipBytes(in.readableBytes());
        return new Refused(why, cause);
    }
}
