package dev.vessel.core.spi;

/**
 * The context of {@link Isolator#prepare}: a container plus the typed data isolators pass on.
 * Reading a key the isolator did not declare in {@code requires()}, or writing one not in
 * {@code provides()}, is a programming error and fails at once.
 */
public interface PrepareContext extends ContainerContext {
    <T> T get(Key<T> key);

    <T> void put(Key<T> key, T value);
}
