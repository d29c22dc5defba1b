package dev.vessel.isolators.namespaces;

import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * Blocks of host ids handed out from subordinate ranges, never two overlapping: the first block of the
 * asked size that fits in a range and overlaps no block in use, lowest first. Blocks recovered from
 * checkpoints are in use whatever the ranges say now. Not thread-safe: {@link UserNamespaceRanges}
 * serializes it.
 */
final class IdRangeAllocator {
    /** In use: start → size. */
    private final TreeMap<Long, Long> used = new TreeMap<>();

    /** The start of a free block of {@code size} ids inside {@code ranges}, now in use; empty if none. */
    OptionalLong allocate(List<SubordinateIds.Range> ranges, long size) {
        for (SubordinateIds.Range range : ranges) {
            long start = range.start();
            while (start + size <= range.end()) {
                Map.Entry<Long, Long> clash = firstOverlap(start, size);
                if (clash == null) {
                    used.put(start, size);
                    return OptionalLong.of(start);
                }
                start = clash.getKey() + clash.getValue(); // past the block in the way
            }
        }
        return OptionalLong.empty();
    }

    /** Marks a block in use (a container's, found in its checkpoint). */
    void reserve(long start, long size) {
        used.put(start, size);
    }

    void release(long start) {
        used.remove(start);
    }

    boolean inUse(long start) {
        return used.containsKey(start);
    }

    /** The lowest block in use that overlaps [start, start + size), or null. */
    private Map.Entry<Long, Long> firstOverlap(long start, long size) {
        Map.Entry<Long, Long> below = used.floorEntry(start);
        if (below != null && below.getKey() + below.getValue() > start) {
            return below;
        }
        Map.Entry<Long, Long> above = used.ceilingEntry(start);
        return above != null && above.getKey() < start + size ? above : null;
    }
}
