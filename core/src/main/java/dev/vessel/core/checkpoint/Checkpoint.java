package dev.vessel.core.checkpoint;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The checkpoint slot of one component (an isolator or a launcher) for one container. The
 * containerizer hands it out, so components never build checkpoint paths themselves: a file
 * ({@link #at}) where a restarted daemon recovers from it, memory ({@link #inMemory}) in a
 * containerizer that never recovers (a guest's, gone with its VM).
 */
public sealed interface Checkpoint permits Checkpoint.OnDisk, Checkpoint.InMemory {

    /** A slot written to {@code file} (see {@link CheckpointFile}). */
    static Checkpoint at(Path file) {
        return new OnDisk(file);
    }

    /**
     * A slot that keeps what is saved as it is: nothing encoded, nothing written. What is saved must not change
     * afterwards, as a checkpoint's state does not (protobuf messages, records of immutable parts).
     */
    static Checkpoint inMemory() {
        return new InMemory();
    }

    <S> void save(CheckpointCodec<S> codec, S state);

    /** What was saved last; empty when nothing was, or it was deleted. */
    <S> Optional<S> load(CheckpointCodec<S> codec);

    void delete();

    /** A checkpoint file. */
    record OnDisk(Path file) implements Checkpoint {
        @Override
        public <S> void save(CheckpointCodec<S> codec, S state) {
            CheckpointFile.write(file, codec, state);
        }

        @Override
        public <S> Optional<S> load(CheckpointCodec<S> codec) {
            return CheckpointFile.read(file, codec);
        }

        @Override
        public void delete() {
            CheckpointFile.delete(file);
        }
    }

    /** The state as saved, with its codec: read back through another codec, it goes through bytes as a file's would. */
    final class InMemory implements Checkpoint {
        private record Saved<S>(CheckpointCodec<S> codec, S state) {
            <T> T as(CheckpointCodec<T> reader) {
                @SuppressWarnings("unchecked") // the codec that wrote it reads it: the same type
                T same = reader == codec ? (T) state : null;
                return same != null ? same : reader.decode(codec.version(), codec.encode(state));
            }
        }

        private volatile Saved<?> saved;

        private InMemory() {
        }

        @Override
        public <S> void save(CheckpointCodec<S> codec, S state) {
            saved = new Saved<>(codec, state);
        }

        @Override
        public <S> Optional<S> load(CheckpointCodec<S> codec) {
            Saved<?> now = saved;
            return now == null ? Optional.empty() : Optional.of(now.as(codec));
        }

        @Override
        public void delete() {
            saved = null;
        }
    }
}
