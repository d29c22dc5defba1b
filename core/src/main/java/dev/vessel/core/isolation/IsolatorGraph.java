package dev.vessel.core.isolation;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The isolators of a node ordered by what they require and provide. Built once at start-up; a
 * broken graph (a cycle, a key nobody provides, a key two isolators provide, two isolators with one
 * name) is refused with an error naming the isolators involved.
 */
public final class IsolatorGraph {
    private final List<Isolator> order;
    private final Map<Isolator, Set<Isolator>> dependencies;

    private IsolatorGraph(List<Isolator> order, Map<Isolator, Set<Isolator>> dependencies) {
        this.order = List.copyOf(order);
        this.dependencies = dependencies;
    }

    /**
     * Orders {@code isolators}. {@code seedKeys} are provided by the containerizer itself (named
     * {@code seedProvider} in errors). Among isolators free to go, registration order is kept, so the
     * order is deterministic.
     */
    public static IsolatorGraph build(List<? extends Isolator> isolators, Set<Key<?>> seedKeys, String seedProvider) {
        Map<String, Isolator> byName = new LinkedHashMap<>();
        for (Isolator isolator : isolators) {
            Isolator other = byName.putIfAbsent(isolator.name(), isolator);
            if (other != null) {
                throw refused("two isolators are named '" + isolator.name() + "' ("
                        + other.getClass().getName() + ", " + isolator.getClass().getName() + ")");
            }
        }

        Map<Key<?>, Isolator> providers = new HashMap<>();
        for (Isolator isolator : isolators) {
            for (Key<?> key : isolator.provides()) {
                if (seedKeys.contains(key)) {
                    throw refused("key " + key + " is provided by both '" + seedProvider + "' and '"
                            + isolator.name() + "'");
                }
                Isolator other = providers.putIfAbsent(key, isolator);
                if (other != null) {
                    throw refused("key " + key + " is provided by both '" + other.name() + "' and '"
                            + isolator.name() + "'");
                }
            }
        }

        Map<Isolator, Set<Isolator>> dependencies = new LinkedHashMap<>();
        for (Isolator isolator : isolators) {
            Set<Isolator> deps = new LinkedHashSet<>();
            for (Key<?> key : isolator.requires()) {
                Isolator provider = providers.get(key);
                if (provider == null && !seedKeys.contains(key)) {
                    throw refused("isolator '" + isolator.name() + "' requires key " + key
                            + " that no isolator provides");
                }
                if (provider == isolator) {
                    throw refused("isolators form a cycle: " + isolator.name() + " -> " + isolator.name()
                            + " (it requires key " + key + " it provides itself)");
                }
                if (provider != null) {
                    deps.add(provider);
                }
            }
            dependencies.put(isolator, deps);
        }
        return new IsolatorGraph(topologicalOrder(isolators, dependencies), dependencies);
    }

    /** Kahn's algorithm; what is left over lies on or behind a cycle, which is then named. */
    private static List<Isolator> topologicalOrder(List<? extends Isolator> isolators,
            Map<Isolator, Set<Isolator>> dependencies) {
        List<Isolator> order = new ArrayList<>();
        Set<Isolator> placed = new LinkedHashSet<>();
        boolean progress = true;
        while (placed.size() < isolators.size() && progress) {
            progress = false;
            for (Isolator isolator : isolators) {
                if (!placed.contains(isolator) && placed.containsAll(dependencies.get(isolator))) {
                    placed.add(isolator);
                    order.add(isolator);
                    progress = true;
                    break; // restart from the front: keeps registration order among ready isolators
                }
            }
        }
        if (placed.size() < isolators.size()) {
            Set<Isolator> remaining = isolators.stream().filter(i -> !placed.contains(i))
                    .collect(Collectors.toCollection(LinkedHashSet::new));
            throw refused("isolators form a cycle: " + describeCycle(remaining, dependencies));
        }
        return order;
    }

    /**
     * Every isolator Kahn's algorithm left over has a left-over dependency (or it would have been
     * placed), so walking from one to one of those must come back to a node already seen: a cycle.
     * Named in the direction data flows: "a -> b" reads "a provides what b requires".
     */
    private static String describeCycle(Set<Isolator> remaining, Map<Isolator, Set<Isolator>> dependencies) {
        List<Isolator> path = new ArrayList<>();
        Isolator current = remaining.iterator().next();
        while (!path.contains(current)) {
            path.add(current);
            current = dependencies.get(current).stream().filter(remaining::contains).findFirst().orElseThrow();
        }
        List<String> names = new ArrayList<>(path.subList(path.indexOf(current), path.size()).stream()
                .map(Isolator::name).toList());
        Collections.reverse(names);
        names.add(names.getFirst());
        return String.join(" -> ", names);
    }

    private static VesselException refused(String message) {
        return new VesselException(ErrorCode.FAILED_PRECONDITION, "isolators", message);
    }

    /** Isolators in an order where each comes after everything it requires. */
    public List<Isolator> order() {
        return order;
    }

    /** The isolators providing what {@code isolator} requires. */
    public Set<Isolator> dependenciesOf(Isolator isolator) {
        return dependencies.get(isolator);
    }
}
