package dev.vessel.core.checkpoint;

/**
 * Turns one component's checkpointed state into bytes and back, with a schema version.
 *
 * <p>{@link #version()} is the version this code writes. {@link #decode} must read every older
 * version it ever wrote (its own upgrade path); the store refuses a newer version before calling it,
 * so an old daemon never misreads what a newer one wrote.
 */
public interface CheckpointCodec<S> {
    int version();

    byte[] encode(S state);

    /** Decodes a payload written at {@code version}, which is at most {@link #version()}. */
    S decode(int version, byte[] payload);
}
