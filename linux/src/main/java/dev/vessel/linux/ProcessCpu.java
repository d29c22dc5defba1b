package dev.vessel.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The CPU time a process has used, all its threads together, from {@code /proc/PID/stat} ({@code utime} and
 * {@code stime}, proc(5)'s fields 14 and 15).
 */
public record ProcessCpu(double userSeconds, double systemSeconds) {
    /** The unit of those fields: the kernel's USER_HZ, 100 on every architecture Linux reports them in. */
    private static final double TICKS_PER_SECOND = 100;

    /** The process's CPU time now; a process that is gone reads as an {@link IOException}. */
    public static ProcessCpu of(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        // the command name, in parentheses, may hold spaces: the fields are counted after its last ')'
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // fields[0] is proc(5)'s field 3 (state): utime is field 14, stime field 15
        return new ProcessCpu(Long.parseLong(fields[11]) / TICKS_PER_SECOND,
                Long.parseLong(fields[12]) / TICKS_PER_SECOND);
    }
}
