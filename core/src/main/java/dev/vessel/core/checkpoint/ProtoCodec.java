package dev.vessel.core.checkpoint;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.util.Map;
import java.util.TreeMap;

/**
 * A checkpoint codec for a protobuf message. Protobuf already tolerates added fields; an upgrade
 * registered with {@link #withUpgrade} handles changes it cannot (a field whose meaning changed).
 */
public final class ProtoCodec<M extends Message> implements CheckpointCodec<M> {
    /** Reads the payload of one older version and returns the current message. */
    @FunctionalInterface
    public interface Upgrade<M> {
        M upgrade(byte[] payload) throws InvalidProtocolBufferException;
    }

    private final int version;
    private final Parser<M> parser;
    private final Map<Integer, Upgrade<M>> upgrades;

    private ProtoCodec(int version, Parser<M> parser, Map<Integer, Upgrade<M>> upgrades) {
        if (version < 1) {
            throw new IllegalArgumentException("schema versions start at 1");
        }
        this.version = version;
        this.parser = parser;
        this.upgrades = upgrades;
    }

    public static <M extends Message> ProtoCodec<M> of(int version, Parser<M> parser) {
        return new ProtoCodec<>(version, parser, Map.of());
    }

    /** Reads payloads of {@code fromVersion} through {@code upgrade} instead of the current parser. */
    public ProtoCodec<M> withUpgrade(int fromVersion, Upgrade<M> upgrade) {
        if (fromVersion >= version) {
            throw new IllegalArgumentException("an upgrade is for an older version than " + version);
        }
        Map<Integer, Upgrade<M>> all = new TreeMap<>(upgrades);
        all.put(fromVersion, upgrade);
        return new ProtoCodec<>(version, parser, Map.copyOf(all));
    }

    @Override
    public int version() {
        return version;
    }

    @Override
    public byte[] encode(M state) {
        return state.toByteArray();
    }

    @Override
    public M decode(int version, byte[] payload) {
        try {
            Upgrade<M> upgrade = upgrades.get(version);
            return upgrade != null ? upgrade.upgrade(payload) : parser.parseFrom(payload);
        } catch (InvalidProtocolBufferException e) {
            throw new VesselException(ErrorCode.DATA_LOSS, null,
                    "checkpoint payload (schema version " + version + ") is not a valid message: " + e.getMessage(), e);
        }
    }
}
