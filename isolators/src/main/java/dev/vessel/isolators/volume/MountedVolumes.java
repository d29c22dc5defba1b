package dev.vessel.isolators.volume;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.checkpoint.CheckpointCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.util.List;

/**
 * What {@code volume/docker} checkpoints for a container: every volume a plugin mounted for it, with
 * the mount ID, so that cleanup (even after a daemon restart) sends the matching Unmount.
 */
public record MountedVolumes(List<Entry> mounts) {
    /** One successful {@code VolumeDriver.Mount}. */
    public record Entry(String driver, String name, String id, String mountpoint) {
    }

    /** JSON, schema version 1. */
    public static final CheckpointCodec<MountedVolumes> CODEC = new CheckpointCodec<>() {
        private static final ObjectMapper JSON = new ObjectMapper();

        @Override
        public int version() {
            return 1;
        }

        @Override
        public byte[] encode(MountedVolumes state) {
            try {
                return JSON.writeValueAsBytes(state);
            } catch (IOException e) {
                throw new IllegalStateException("cannot encode " + state, e);
            }
        }

        @Override
        public MountedVolumes decode(int version, byte[] payload) {
            try {
                return JSON.readValue(payload, MountedVolumes.class);
            } catch (IOException e) {
                throw new VesselException(ErrorCode.DATA_LOSS, null,
                        "Docker volume checkpoint (schema version " + version + ") is not valid: " + e.getMessage(), e);
            }
        }
    };

    public MountedVolumes {
        mounts = List.copyOf(mounts);
    }
}
