package dev.vessel.core.checkpoint;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The checkpoint slot of one component (an isolator or a launcher) for one container. The
 * containerizer hands it out, so components never build checkpoint paths themselves.
 */
public record Checkpoint(Path file) {
    public <S> void save(CheckpointCodec<S> codec, S state) {
        CheckpointFile.write(file, codec, state);
    }

    public <S> Optional<S> load(CheckpointCodec<S> codec) {
        return CheckpointFile.read(file, codec);
    }

    public void delete() {
        CheckpointFile.delete(file);
    }
}
