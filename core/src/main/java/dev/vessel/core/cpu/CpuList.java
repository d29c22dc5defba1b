package dev.vessel.core.cpu;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Optional;

/**
 * A set of CPU or NUMA node numbers in the kernel's list format ({@code 0-3,6}; cpuset(7)), as cgroup cpusets,
 * {@code /sys/devices/system/cpu/online}, podman's {@code --cpuset-cpus} and libvirt's {@code cpuset} write it.
 */
public record CpuList(BitSet members) {
    /** Above any machine's CPU count, so a typo such as 1000000 is refused instead of allocating a huge set. */
    public static final int MAX_NUMBER = 8191;

    public CpuList {
        members = (BitSet) members.clone();
    }

    /**
     * Reads {@code text}; an {@link IllegalArgumentException} says why it is not a list (empty, a word, a range that
     * runs backwards, a number above {@link #MAX_NUMBER}).
     */
    public static CpuList parse(String text) {
        if (text.isBlank()) {
            throw new IllegalArgumentException("is empty");
        }
        BitSet set = new BitSet();
        for (String part : text.strip().split(",", -1)) {
            String[] range = part.split("-", -1);
            if (range.length > 2 || !isNumber(range[0]) || !isNumber(range[range.length - 1])) {
                throw new IllegalArgumentException("has '" + part + "', not a number or a range such as 0-3");
            }
            int from = Integer.parseInt(range[0]);
            int to = Integer.parseInt(range[range.length - 1]);
            if (to > MAX_NUMBER || from > MAX_NUMBER) {
                throw new IllegalArgumentException("has '" + part + "', above " + MAX_NUMBER);
            }
            if (from > to) {
                throw new IllegalArgumentException("has the range '" + part + "', which runs backwards");
            }
            set.set(from, to + 1);
        }
        return new CpuList(set);
    }

    /** Digits only, few enough to fit an int (the range check comes after). */
    private static boolean isNumber(String s) {
        return !s.isEmpty() && s.length() <= 6 && s.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    /** Reads a list the kernel publishes ({@code /sys/devices/system/cpu/online}); empty when the file is absent. */
    public static Optional<CpuList> read(Path file) {
        try {
            return Optional.of(parse(Files.readString(file)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(file + " " + e.getMessage() + ": not a CPU list", e);
        }
    }

    /** The numbers {@code 0} to {@code count - 1}. */
    public static CpuList firstN(int count) {
        BitSet set = new BitSet();
        set.set(0, count);
        return new CpuList(set);
    }

    @Override
    public BitSet members() {
        return (BitSet) members.clone();
    }

    /** The numbers in this list that {@code other} lacks, as a list; empty when this is a subset. */
    public CpuList without(CpuList other) {
        BitSet left = (BitSet) members.clone();
        left.andNot(other.members);
        return new CpuList(left);
    }

    public boolean isEmpty() {
        return members.isEmpty();
    }

    /** The kernel's own form: ascending, ranges joined ({@code 0-3,6}). */
    @Override
    public String toString() {
        StringBuilder out = new StringBuilder();
        for (int from = members.nextSetBit(0); from >= 0; ) {
            int to = members.nextClearBit(from) - 1;
            out.append(out.isEmpty() ? "" : ",").append(from).append(to > from ? "-" + to : "");
            from = members.nextSetBit(to + 1);
        }
        return out.toString();
    }
}
