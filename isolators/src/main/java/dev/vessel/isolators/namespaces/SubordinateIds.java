package dev.vessel.isolators.namespaces;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One user's subordinate ids in a {@code /etc/subuid} or {@code /etc/subgid} file (subuid(5)): lines
 * {@code name:start:count}, the user given by name or by uid. A missing file grants nothing; lines that
 * do not parse are skipped, as shadow's tools do.
 */
final class SubordinateIds {
    /** Host ids {@code start} to {@code start + count - 1}. */
    record Range(long start, long count) {
        long end() {
            return start + count;
        }
    }

    private SubordinateIds() {
    }

    /** The ranges {@code user} holds in {@code file}, in file order. */
    static List<Range> of(Path file, String user) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            return List.of();
        }
        List<Range> ranges = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.strip().split(":", -1);
            if (f.length != 3 || !f[0].equals(user)) {
                continue;
            }
            try {
                long start = Long.parseLong(f[1]);
                long count = Long.parseLong(f[2]);
                // (uid_t) -1 is "no id" to the kernel: a range must stay below it
                if (start > 0 && count > 0 && start + count <= 0xFFFF_FFFFL) {
                    ranges.add(new Range(start, count));
                }
            } catch (NumberFormatException e) {
                // not a range: skipped
            }
        }
        return ranges;
    }
}
