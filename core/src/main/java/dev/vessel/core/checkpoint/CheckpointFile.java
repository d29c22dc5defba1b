package dev.vessel.core.checkpoint;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * One checkpoint on disk: a small envelope around a component's payload.
 *
 * <pre>
 * "VCKP"  u32 schema version  u32 payload length  payload  u32 CRC32C(everything before it)
 * </pre>
 * (big-endian). Checkpoints describe what runs now and live in the run dir, which a reboot makes
 * meaningless: they are written with {@link AtomicFiles#replace}, so a crash of the daemon leaves the
 * old or the new record, without the cost of an fsync, which would only matter after a crash of the
 * machine — when the containerizer no longer trusts them anyway (see {@code BootStamp}). The CRC
 * catches damage from anything else (a torn write of a previous boot, a disk error, a hand edit).
 */
public final class CheckpointFile {
    private static final byte[] MAGIC = {'V', 'C', 'K', 'P'};
    private static final int HEADER = MAGIC.length + 4 + 4;
    private static final int TRAILER = 4;

    private CheckpointFile() {
    }

    public static <S> void write(Path file, CheckpointCodec<S> codec, S state) {
        byte[] payload = codec.encode(state);
        ByteBuffer buf = ByteBuffer.allocate(HEADER + payload.length + TRAILER);
        buf.put(MAGIC).putInt(codec.version()).putInt(payload.length).put(payload);
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 0, buf.position());
        buf.putInt((int) crc.getValue());
        try {
            AtomicFiles.replace(file, buf.array());
        } catch (IOException e) {
            throw VesselException.internal(file.toString(), "cannot write checkpoint: " + e.getMessage(), e);
        }
    }

    /** Reads a checkpoint; empty when none was ever written. */
    public static <S> Optional<S> read(Path file, CheckpointCodec<S> codec) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw VesselException.internal(file.toString(), "cannot read checkpoint: " + e.getMessage(), e);
        }
        String damage = damage(bytes);
        if (damage != null) {
            throw damaged(file, damage);
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        buf.position(MAGIC.length);
        int version = buf.getInt();
        int length = buf.getInt();
        if (version > codec.version()) {
            throw new VesselException(ErrorCode.DATA_LOSS, file.toString(),
                    "checkpoint has schema version " + version + ", newer than version " + codec.version()
                            + " that this Vessel reads; run the Vessel that wrote it, or remove the checkpoint");
        }
        if (version < 1) {
            throw damaged(file, "schema version " + version + " is not valid");
        }
        return Optional.of(codec.decode(version, Arrays.copyOfRange(bytes, HEADER, HEADER + length)));
    }

    /** Whether {@code file} exists but is not a whole checkpoint (a schema version aside). */
    public static boolean isDamaged(Path file) {
        try {
            return damage(Files.readAllBytes(file)) != null;
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw VesselException.internal(file.toString(), "cannot read checkpoint: " + e.getMessage(), e);
        }
    }

    /** What is wrong with the envelope, or null when header, length and checksum agree. */
    private static String damage(byte[] bytes) {
        if (bytes.length < HEADER + TRAILER || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            return "not a Vessel checkpoint (bad header)";
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        buf.position(MAGIC.length + 4);
        int length = buf.getInt();
        if (length < 0 || length != bytes.length - HEADER - TRAILER) {
            return "length " + length + " does not match the file size " + bytes.length;
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, HEADER + length);
        buf.position(HEADER + length);
        return (int) crc.getValue() != buf.getInt() ? "checksum mismatch" : null;
    }

    public static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw VesselException.internal(file.toString(), "cannot remove checkpoint: " + e.getMessage(), e);
        }
    }

    private static VesselException damaged(Path file, String why) {
        return new VesselException(ErrorCode.DATA_LOSS, file.toString(), "checkpoint is damaged: " + why);
    }
}
