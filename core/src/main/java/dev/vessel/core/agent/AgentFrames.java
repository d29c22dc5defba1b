package dev.vessel.core.agent;

/**
 * The size limit of the agent protocol's frames (agent.proto), the same on both ends: each end
 * refuses a frame whose length prefix announces more, before reading its body, so a peer cannot make
 * the other buffer gigabytes. The largest legitimate frame is an output chunk (the guest sends at
 * most 64 KiB of data in one) or a launch carrying a container's config: both far below the cap.
 */
public final class AgentFrames {
    /** The most bytes one frame's body may have. */
    public static final int MAX_FRAME_BYTES = 1 << 20;
    /** The cap as people read it, for messages. */
    public static final String MAX_FRAME_SIZE = "1 MiB";
    /** A frame's length prefix is a varint of a 32-bit length: at most 5 bytes. */
    public static final int MAX_LENGTH_PREFIX_BYTES = 5;

    private AgentFrames() {
    }

    /** Why a frame of {@code size} bytes from {@code sender} (e.g. "the guest agent") is refused. */
    public static String overCap(String sender, long size) {
        return sender + " sent a frame of " + size + " bytes, over the " + MAX_FRAME_SIZE + " cap";
    }
}
