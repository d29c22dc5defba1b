package dev.vessel.core.spi;

import java.util.Objects;

/**
 * A typed piece of data one isolator provides to others during {@code prepare}, e.g. the network
 * namespace path the CNI isolator creates and the VM launcher's tap isolator needs. Isolators declare
 * the keys they require and provide; the containerizer orders them by these declarations.
 */
public record Key<T>(String name, Class<T> type) {
    public Key {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
    }

    public static <T> Key<T> of(String name, Class<T> type) {
        return new Key<>(name, type);
    }

    // Written out rather than generated: a record's generated equals/hashCode spin method-handle
    // classes on first use, which an AOT cache cannot hold; in a guest under TCG that cost ~0.3 s
    // of the agent's first launch.
    @Override
    public boolean equals(Object o) {
        return o instanceof Key<?> k && name.equals(k.name) && type == k.type;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + type.hashCode();
    }

    @Override
    public String toString() {
        return name + "(" + type.getSimpleName() + ")";
    }
}
