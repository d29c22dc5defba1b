package dev.vessel.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a process costs the host in memory, from {@code /proc/PID/smaps_rollup}: its resident set (RSS) and
 * its proportional share (PSS: a page shared by n processes counts 1/n in each, so the PSS of a group of
 * processes adds up to what they take together).
 */
public record ProcessMemory(long rssBytes, long pssBytes) {
    public static final ProcessMemory NONE = new ProcessMemory(0, 0);

    /** The process's memory now; a process that is gone reads as an {@link IOException}. */
    public static ProcessMemory of(long pid) throws IOException {
        long rss = 0;
        long pss = 0;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps_rollup"))) {
            if (line.startsWith("Rss:")) {
                rss = kib(line) * 1024;
            } else if (line.startsWith("Pss:")) {
                pss = kib(line) * 1024;
            }
        }
        return new ProcessMemory(rss, pss);
    }

    /** Both together. */
    public ProcessMemory plus(ProcessMemory other) {
        return new ProcessMemory(rssBytes + other.rssBytes, pssBytes + other.pssBytes);
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("\\D", ""));
    }
}
