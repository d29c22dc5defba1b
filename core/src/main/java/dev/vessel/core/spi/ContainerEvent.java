package dev.vessel.core.spi;

import java.time.Instant;
import java.util.Map;

/**
 * One lifecycle event of the node, named as podman names them: for a container {@code create},
 * {@code start}, {@code pause}, {@code unpause}, {@code kill}, {@code stop}, {@code oom}, {@code died}
 * (its attributes carry {@code exit_code}) and {@code remove}; for an image {@code pull}.
 *
 * @param type       {@code container} or {@code image}
 * @param id         the container's id, or the image's reference
 * @param attributes what else is known: the container's image, isolation, exit code, signal…
 */
public record ContainerEvent(Instant time, String type, String action, String id, Map<String, String> attributes) {
    public static final String CONTAINER = "container";
    public static final String IMAGE = "image";

    public ContainerEvent {
        attributes = Map.copyOf(attributes);
    }
}
