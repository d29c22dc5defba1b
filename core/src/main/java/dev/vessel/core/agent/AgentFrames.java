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

    /**
     * A frame's varint length prefix, read a byte at a time by either end (the host's Netty decoder,
     * the guest's stream reader), with the prefix's own bound checked as it grows.
     */
    public static final class LengthPrefix {
        private long length;
        private int bytes;

        /**
         * Takes the prefix's next byte (0–255); true once the prefix is complete. Fails with an
         * {@link IllegalStateException} saying why when it runs past its 5 bytes: no frame of the
         * protocol has such a prefix.
         */
        public boolean add(int b) {
            if (bytes == MAX_LENGTH_PREFIX_BYTES) {
                throw new IllegalStateException("its length prefix runs past " + MAX_LENGTH_PREFIX_BYTES + " bytes");
            }
            length |= (long) (b & 0x7f) << (7 * bytes++);
            return (b & 0x80) == 0;
        }

        /** The length the complete prefix announces. */
        public long length() {
            return length;
        }
    }

    /** Why a frame of {@code size} bytes from {@code sender} (e.g. "the guest agent") is refused. */
    public static String overCap(String sender, long size) {
        return sender + " sent a frame of " + size + " bytes, over the " + MAX_FRAME_SIZE + " cap";
    }
}
