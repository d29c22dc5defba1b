package dev.vessel.core.containerizer;

import dev.vessel.core.model.ContainerState;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The legal moves of a container: forward one step at a time through PROVISIONING, PREPARING,
 * ISOLATING, RUNNING, DESTROYING, TERMINATED, or from any live state straight to DESTROYING. A container
 * created without being started waits in CREATED between ISOLATING and RUNNING; a paused one is PAUSED
 * until resumed (RUNNING) or destroyed.
 */
final class StateMachine {
    private static final Map<ContainerState, Set<ContainerState>> NEXT = Map.of(
            ContainerState.PROVISIONING, EnumSet.of(ContainerState.PREPARING, ContainerState.DESTROYING),
            ContainerState.PREPARING, EnumSet.of(ContainerState.ISOLATING, ContainerState.DESTROYING),
            ContainerState.ISOLATING, EnumSet.of(ContainerState.CREATED, ContainerState.RUNNING,
                    ContainerState.DESTROYING),
            ContainerState.CREATED, EnumSet.of(ContainerState.RUNNING, ContainerState.DESTROYING),
            ContainerState.RUNNING, EnumSet.of(ContainerState.PAUSED, ContainerState.DESTROYING),
            ContainerState.PAUSED, EnumSet.of(ContainerState.RUNNING, ContainerState.DESTROYING),
            ContainerState.DESTROYING, EnumSet.of(ContainerState.TERMINATED),
            ContainerState.TERMINATED, EnumSet.noneOf(ContainerState.class));

    private StateMachine() {
    }

    static boolean allowed(ContainerState from, ContainerState to) {
        return NEXT.getOrDefault(from, Set.of()).contains(to);
    }

    /** A containerizer bug, not a user error: the containerizer never asks for an illegal move. */
    static void check(String id, ContainerState from, ContainerState to) {
        if (!allowed(from, to)) {
            throw new IllegalStateException("container '" + id + "' cannot move from " + from + " to " + to);
        }
    }
}
