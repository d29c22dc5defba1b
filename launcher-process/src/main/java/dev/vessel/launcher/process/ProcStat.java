package dev.vessel.launcher.process;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Identifies a process by pid and start time (field 22 of {@code /proc/<pid>/stat}), since a pid
 * alone may have been reused by the time the daemon looks again.
 */
final class ProcStat {
    private ProcStat() {
    }

    /** The start time of a live (not zombie) process; empty when there is none with that pid. */
    static OptionalLong startTime(long pid) {
        return startTime(pid, false);
    }

    /**
     * The start time of a process that cannot have been reaped yet, such as an un-waited-for child:
     * also when it has exited already (a zombie keeps its start time); empty when there is none.
     */
    static OptionalLong startTimeOfUnreaped(long pid) {
        return startTime(pid, true);
    }

    private static OptionalLong startTime(long pid, boolean exited) {
        String stat;
        try (InputStream in = Files.newInputStream(Path.of("/proc", Long.toString(pid), "stat"))) {
            stat = new String(in.readAllBytes(), StandardCharsets.US_ASCII); // procfs sizes lie: read as a stream
        } catch (IOException e) {
            return OptionalLong.empty();
        }
        // comm (field 2) may hold spaces and parentheses: the fields after it follow the last ')'
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        if (!exited && (fields[0].equals("Z") || fields[0].equals("X"))) {
            return OptionalLong.empty(); // exited; only its parent has not reaped it yet
        }
        return OptionalLong.of(Long.parseLong(fields[22 - 3]));
    }

    /** True when {@code pid} still names the process that had {@code startTime}. */
    static boolean isSame(long pid, long startTime) {
        OptionalLong now = startTime(pid);
        return now.isPresent() && now.getAsLong() == startTime;
    }
}
