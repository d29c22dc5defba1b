package dev.vessel.core.stdio;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One frame of a task's stdio stream, the same bytes on every hop: between a task's monitor and its
 * attach socket's client (the daemon, or the guest agent), between the guest agent and the host (inside
 * agent frames), and between the daemon and an API client on an upgraded connection. Encoded as one
 * type byte, the payload's length as a big-endian u32, and the payload.
 *
 * <p>Towards the task: {@link Type#STDIN}, {@link Type#STDIN_CLOSE}, {@link Type#RESIZE}. From it:
 * {@link Type#STDOUT}, {@link Type#STDERR} (with a terminal everything is STDOUT), and last
 * {@link Type#EXIT} once the process ended and all its output was sent; the sender then closes.
 */
public record StdioFrame(Type type, byte[] payload) {
    /** The largest payload a receiver accepts; a larger length is a broken or hostile peer. */
    public static final int MAX_PAYLOAD = 1 << 20;

    public enum Type {
        STDIN(0x01), STDIN_CLOSE(0x02), RESIZE(0x03), STDOUT(0x11), STDERR(0x12), EXIT(0x13);

        public final int code;

        Type(int code) {
            this.code = code;
        }

        static Type of(int code) throws IOException {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            throw new IOException(String.format("stdio frame: unknown type 0x%02x", code));
        }
    }

    public StdioFrame {
        if (payload.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("stdio frame payload of " + payload.length + " bytes");
        }
    }

    public static StdioFrame stdin(byte[] data) {
        return new StdioFrame(Type.STDIN, data);
    }

    public static StdioFrame stdinClose() {
        return new StdioFrame(Type.STDIN_CLOSE, new byte[0]);
    }

    /** A terminal's new size: rows and columns as big-endian u16s. */
    public static StdioFrame resize(int rows, int columns) {
        return new StdioFrame(Type.RESIZE, ByteBuffer.allocate(4).putShort((short) rows).putShort((short) columns).array());
    }

    /** The process ended: its status as a shell reports it (the exit code, or 128 + the signal). */
    public static StdioFrame exit(int status) {
        return new StdioFrame(Type.EXIT, ByteBuffer.allocate(4).putInt(status).array());
    }

    /** RESIZE's rows. */
    public int rows() {
        return ByteBuffer.wrap(payload).getShort(0) & 0xFFFF;
    }

    /** RESIZE's columns. */
    public int columns() {
        return ByteBuffer.wrap(payload).getShort(2) & 0xFFFF;
    }

    /** EXIT's status. */
    public int exitStatus() {
        return ByteBuffer.wrap(payload).getInt(0);
    }

    /** The frame as it goes on the wire. */
    public byte[] encode() {
        return ByteBuffer.allocate(5 + payload.length).put((byte) type.code).putInt(payload.length).put(payload).array();
    }

    public void writeTo(OutputStream out) throws IOException {
        out.write(encode());
    }

    /** The next frame, or null at a clean end of the stream (between frames). */
    public static StdioFrame readFrom(InputStream in) throws IOException {
        int first = in.read();
        if (first < 0) {
            return null;
        }
        DataInputStream data = new DataInputStream(in);
        Type type = Type.of(first);
        int length = data.readInt();
        if (length < 0 || length > MAX_PAYLOAD) {
            throw new IOException("stdio frame: payload length " + Integer.toUnsignedString(length) + " is over "
                    + MAX_PAYLOAD);
        }
        byte[] payload = new byte[length];
        try {
            data.readFully(payload);
        } catch (EOFException e) {
            throw new EOFException("stdio frame: the stream ended inside a " + type + " frame");
        }
        return new StdioFrame(type, payload);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StdioFrame f && f.type == type && Arrays.equals(f.payload, payload);
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        return type + "[" + payload.length + " bytes]";
    }
}
