package dev.vessel.core.spi;

/**
 * Hears the containerizer's lifecycle events, each once, as it happens. It is called on the thread
 * that made the change, often with the container's lock held: it must return at once and never
 * block (queue the event, do nothing slow).
 */
@FunctionalInterface
public interface ContainerEventListener {
    ContainerEventListener NONE = event -> { };

    void event(ContainerEvent event);
}
