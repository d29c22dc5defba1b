package dev.vessel.linux;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Encodes one netlink request and decodes the attributes of a reply, as netlink(7) lays them out:
 * a 16-byte {@code nlmsghdr} (length, type, flags, sequence, port id), the request's fixed header
 * (e.g. {@code ifinfomsg}), then attributes, each {@code rtattr}-framed (u16 length, u16 type, value)
 * and padded to 4 bytes. Everything is in the host's byte order (netlink is host-endian), except what
 * a value itself defines (IPv4 addresses are 4 bytes in network order). Pure Java: no socket here.
 */
public final class NetlinkMessage {
    static final int HEADER_BYTES = 16;
    static final int ATTRIBUTE_HEADER_BYTES = 4;
    /** Set on the type of an attribute that holds attributes (the kernel accepts it, iproute2 sets it). */
    static final int NLA_F_NESTED = 0x8000;
    /** The type bits of an attribute's type field, without the nested and byte-order flags. */
    static final int NLA_TYPE_MASK = 0x3fff;

    private final int type;
    private final int flags;
    private final Output out = new Output();
    /** Start offsets of the nested attributes still open. */
    private final Deque<Integer> open = new ArrayDeque<>();

    private NetlinkMessage(int type, int flags) {
        this.type = type;
        this.flags = flags;
    }

    /** A message of {@code type} (e.g. RTM_NEWLINK) with {@code flags} and the request's fixed header. */
    public static NetlinkMessage of(int type, int flags, byte[] fixedHeader) {
        NetlinkMessage message = new NetlinkMessage(type, flags);
        message.out.write(fixedHeader);
        message.out.pad();
        return message;
    }

    public NetlinkMessage attribute(int attribute, byte[] value) {
        out.writeShort(ATTRIBUTE_HEADER_BYTES + value.length);
        out.writeShort(attribute);
        out.write(value);
        out.pad();
        return this;
    }

    public NetlinkMessage attributeInt(int attribute, int value) {
        return attribute(attribute, intBytes(value));
    }

    /** A C string: the kernel expects the terminating NUL inside the attribute. */
    public NetlinkMessage attributeString(int attribute, String value) {
        byte[] text = value.getBytes(StandardCharsets.UTF_8);
        byte[] withNul = new byte[text.length + 1];
        System.arraycopy(text, 0, withNul, 0, text.length);
        return attribute(attribute, withNul);
    }

    /** Opens an attribute whose value is the attributes that follow, up to {@link #endNested}. */
    public NetlinkMessage beginNested(int attribute) {
        open.push(out.size());
        out.writeShort(0); // the length, known at endNested
        out.writeShort(attribute | NLA_F_NESTED);
        return this;
    }

    public NetlinkMessage endNested() {
        int start = open.pop();
        out.setShort(start, out.size() - start);
        return this;
    }

    /** The whole message with its header; the port id is 0 (the kernel's). */
    public byte[] encode(int sequence) {
        if (!open.isEmpty()) {
            throw new IllegalStateException("a nested attribute is still open");
        }
        byte[] body = out.toByteArray();
        ByteBuffer buffer = ByteBuffer.allocate(HEADER_BYTES + body.length).order(ByteOrder.nativeOrder());
        buffer.putInt(HEADER_BYTES + body.length).putShort((short) type).putShort((short) flags)
                .putInt(sequence).putInt(0).put(body);
        return buffer.array();
    }

    /** The value of an int attribute (or of any 4 bytes in host order). */
    public static byte[] intBytes(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(value).array();
    }

    /**
     * The attributes between {@code from} and {@code to} of a buffer (in host order), by type; nested
     * ones are returned whole, for the caller to parse again. The nested flag is masked off the type.
     * A later attribute of the same type wins (replies do not repeat the ones this code reads).
     */
    public static Map<Integer, ByteBuffer> attributes(ByteBuffer buffer, int from, int to) {
        Map<Integer, ByteBuffer> found = new HashMap<>();
        int at = from;
        while (at + ATTRIBUTE_HEADER_BYTES <= to) {
            int length = Short.toUnsignedInt(buffer.getShort(at));
            int attribute = Short.toUnsignedInt(buffer.getShort(at + 2)) & NLA_TYPE_MASK;
            if (length < ATTRIBUTE_HEADER_BYTES || at + length > to) {
                break; // malformed: keep what was read
            }
            found.put(attribute, buffer.slice(at + ATTRIBUTE_HEADER_BYTES, length - ATTRIBUTE_HEADER_BYTES)
                    .order(ByteOrder.nativeOrder()));
            at += align(length);
        }
        return found;
    }

    /** A NUL-terminated string attribute. */
    public static String string(ByteBuffer value) {
        int end = 0;
        while (end < value.limit() && value.get(end) != 0) {
            end++;
        }
        byte[] bytes = new byte[end];
        value.get(0, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    public static byte[] bytes(ByteBuffer value) {
        byte[] bytes = new byte[value.limit()];
        value.get(0, bytes);
        return bytes;
    }

    static int align(int length) {
        return (length + 3) & ~3;
    }

    /** A byte sink in host order that can patch a length written earlier. */
    private static final class Output extends ByteArrayOutputStream {
        void writeShort(int value) {
            byte[] b = ByteBuffer.allocate(2).order(ByteOrder.nativeOrder()).putShort((short) value).array();
            write(b, 0, 2);
        }

        void setShort(int offset, int value) {
            ByteBuffer.wrap(buf, offset, 2).order(ByteOrder.nativeOrder()).putShort((short) value);
        }

        void pad() {
            while (count % 4 != 0) {
                write(0);
            }
        }

        @Override
        public void write(byte[] b) {
            write(b, 0, b.length);
        }
    }
}
