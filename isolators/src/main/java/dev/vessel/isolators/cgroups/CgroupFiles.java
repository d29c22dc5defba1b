package dev.vessel.isolators.cgroups;

import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** Reading and writing cgroup control files, with errors that name the file and the value. */
final class CgroupFiles {
    private CgroupFiles() {
    }

    static void write(Path dir, String file, String value) {
        Path path = dir.resolve(file);
        try {
            // cgroup files take one write(2) each: no truncate, no append, no temp file
            Files.write(path, value.getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw VesselException.internal(path.toString(), "cannot write '" + value + "': " + e.getMessage(), e);
        }
    }

    static Optional<String> read(Path dir, String file) {
        try {
            return Optional.of(Files.readString(dir.resolve(file)).trim());
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw VesselException.internal(dir.resolve(file).toString(), "cannot read: " + e.getMessage(), e);
        }
    }

    static long readLong(Path dir, String file) {
        return read(dir, file).map(v -> v.equals("max") ? Long.MAX_VALUE : Long.parseLong(v)).orElse(0L);
    }

    /** Files of "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control). */
    static Map<String, Long> readKeyed(Path dir, String file) {
        Map<String, Long> values = new HashMap<>();
        read(dir, file).ifPresent(text -> {
            for (String line : text.split("\n")) {
                String[] kv = line.trim().split("\\s+");
                if (kv.length == 2) {
                    try {
                        values.put(kv[0], Long.parseLong(kv[1]));
                    } catch (NumberFormatException ignored) {
                        // not a counter (e.g. a "max" value): not what callers of this method read
                    }
                }
            }
        });
        return values;
    }

    static boolean exists(Path dir, String file) {
        return Files.exists(dir.resolve(file));
    }
}
