package dev.vessel.core.validation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What this node has: a container asking for more can never run here. */
public record NodeCapacity(int cpus, long memoryBytes) {
    /** Reads the CPU count and {@code MemTotal} of {@code /proc/meminfo}. */
    public static NodeCapacity detect() {
        int cpus = Runtime.getRuntime().availableProcessors();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return new NodeCapacity(cpus, kib * 1024);
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new IllegalStateException("cannot read the node's memory from /proc/meminfo", e);
        }
        throw new IllegalStateException("/proc/meminfo has no MemTotal line");
    }
}
