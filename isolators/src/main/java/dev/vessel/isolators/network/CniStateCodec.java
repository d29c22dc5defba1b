package dev.vessel.isolators.network;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.checkpoint.CheckpointCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;

/** {@link CniState} as JSON (the CNI configurations and results are JSON already). Version 1. */
final class CniStateCodec implements CheckpointCodec<CniState> {
    private final ObjectMapper json;

    CniStateCodec(ObjectMapper json) {
        this.json = json;
    }

    @Override
    public int version() {
        return 1;
    }

    @Override
    public byte[] encode(CniState state) {
        try {
            return json.writeValueAsBytes(state);
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode CNI state", e);
        }
    }

    @Override
    public CniState decode(int version, byte[] payload) {
        try {
            return json.readValue(payload, CniState.class);
        } catch (IOException e) {
            throw new VesselException(ErrorCode.DATA_LOSS, null,
                    "CNI checkpoint (schema version " + version + ") is not valid: " + e.getMessage(), e);
        }
    }
}
