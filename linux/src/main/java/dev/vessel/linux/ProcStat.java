package dev.vessel.linux;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What {@code /proc/PID/stat} says of a process, the fields Vessel reads (proc(5)'s numbers): its state (3), the CPU
 * time all its threads have used ({@code utime} 14, {@code stime} 15) and when it started ({@code starttime} 22,
 * since boot). A pid with its start time names one process: a pid alone may have been reused by the time the daemon
 * looks again. No lambdas: a guest's launch reads it, where each new one costs milliseconds under TCG.
 */
public record ProcStat(char state, long userTicks, long systemTicks, long startTicks) {
    /** The unit of the times: the kernel's USER_HZ, 100 on every architecture Linux reports them in. */
    public static final long TICKS_PER_SECOND = 100;

    /** The process's fields now; empty when there is no process with that pid. */
    public static Optional<ProcStat> of(long pid) {
        String stat;
        try (InputStream in = Files.newInputStream(Path.of("/proc", Long.toString(pid), "stat"))) {
            stat = new String(in.readAllBytes(), StandardCharsets.US_ASCII); // procfs sizes lie: read as a stream
        } catch (IOException e) {
            return Optional.empty();
        }
        // comm (field 2) may hold spaces and parentheses: the fields after it follow the last ')', from field 3 on
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        return Optional.of(new ProcStat(fields[0].charAt(0), Long.parseLong(fields[14 - 3]),
                Long.parseLong(fields[15 - 3]), Long.parseLong(fields[22 - 3])));
    }

    /** The start time of a live (not zombie) process; empty when there is none with that pid. */
    public static OptionalLong startTime(long pid) {
        Optional<ProcStat> stat = of(pid);
        return stat.isPresent() && !stat.get().exited() ? OptionalLong.of(stat.get().startTicks())
                : OptionalLong.empty();
    }

    /**
     * The start time of a process that cannot have been reaped yet, such as an un-waited-for child: also when it has
     * exited already (a zombie keeps its start time); empty when there is none.
     */
    public static OptionalLong startTimeOfUnreaped(long pid) {
        Optional<ProcStat> stat = of(pid);
        return stat.isPresent() ? OptionalLong.of(stat.get().startTicks()) : OptionalLong.empty();
    }

    /** True when {@code pid} still names the live process that had {@code startTime}. */
    public static boolean isSame(long pid, long startTime) {
        OptionalLong now = startTime(pid);
        return now.isPresent() && now.getAsLong() == startTime;
    }

    /** Whether it has exited, its parent not having reaped it yet. */
    public boolean exited() {
        return state == 'Z' || state == 'X';
    }

    public double userSeconds() {
        return (double) userTicks / TICKS_PER_SECOND;
    }

    public double systemSeconds() {
        return (double) systemTicks / TICKS_PER_SECOND;
    }
}
