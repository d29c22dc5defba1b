package dev.vessel.core.userns;

import dev.vessel.core.model.IdMapping;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.ToLongFunction;

/**
 * The rules the kernel holds a user namespace's {@code uid_map} and {@code gid_map} to, checked before anything
 * is made so that a bad map is refused naming its entry rather than failing a write to /proc inside a launch:
 * at most 340 ranges, none empty or past 2^32, and no two overlapping on either side.
 */
public final class IdMaps {
    /** The kernel's limit on a map's lines (UID_GID_MAP_MAX_EXTENTS). */
    public static final int MAX_RANGES = 340;
    private static final long ID_SPACE = 1L << 32;

    private IdMaps() {
    }

    /** A problem with one field: {@code field} is the map's name with the entry's index where one is to blame. */
    public record Problem(String field, String message) {
    }

    /** How a map's entries name their two starting ids: the model's names, or an OCI bundle's. */
    public record Names(String containerId, String hostId) {
        public static final Names MODEL = new Names("container_id", "host_id");
        public static final Names OCI = new Names("containerID", "hostID");
    }

    /** What is wrong with {@code map}, named {@code field} (e.g. {@code uid_map}), if anything. */
    public static Optional<Problem> problem(String field, List<IdMapping> map) {
        return problem(field, map, Names.MODEL);
    }

    /** As {@link #problem(String, List)}, an entry's members named by {@code names}. */
    public static Optional<Problem> problem(String field, List<IdMapping> map, Names names) {
        if (map.size() > MAX_RANGES) {
            return Optional.of(new Problem(field, map.size() + " ranges; the kernel takes at most " + MAX_RANGES));
        }
        for (int i = 0; i < map.size(); i++) {
            IdMapping m = map.get(i);
            long size = Integer.toUnsignedLong(m.getSize());
            if (size == 0) {
                return Optional.of(new Problem(field + "[" + i + "].size", "must be at least 1"));
            }
            if (unsigned(m.getContainerId()) + size > ID_SPACE || unsigned(m.getHostId()) + size > ID_SPACE) {
                return Optional.of(new Problem(field + "[" + i + "]", "runs past the last id (4294967295)"));
            }
        }
        return overlap(field, map, names.containerId(), m -> unsigned(m.getContainerId()))
                .or(() -> overlap(field, map, names.hostId(), m -> unsigned(m.getHostId())));
    }

    /** Whether {@code map} gives container id {@code id} a host id. */
    public static boolean maps(List<IdMapping> map, long id) {
        return map.stream().anyMatch(m -> unsigned(m.getContainerId()) <= id
                && id < unsigned(m.getContainerId()) + Integer.toUnsignedLong(m.getSize()));
    }

    private static Optional<Problem> overlap(String field, List<IdMapping> map, String side,
                                             ToLongFunction<IdMapping> start) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < map.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingLong(i -> start.applyAsLong(map.get(i))));
        for (int k = 1; k < order.size(); k++) {
            IdMapping before = map.get(order.get(k - 1));
            if (start.applyAsLong(before) + Integer.toUnsignedLong(before.getSize())
                    > start.applyAsLong(map.get(order.get(k)))) {
                return Optional.of(new Problem(field + "[" + order.get(k) + "]." + side, "overlaps the range of "
                        + field + "[" + order.get(k - 1) + "]"));
            }
        }
        return Optional.empty();
    }

    private static long unsigned(int id) {
        return Integer.toUnsignedLong(id);
    }
}
