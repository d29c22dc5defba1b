package dev.vessel.linux;

import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Signal names and numbers as people and OCI image configs write them ({@code SIGTERM}, {@code TERM},
 * {@code 15}, {@code SIGRTMIN+3}), with Linux's numbers on x86-64 and arm64, which agree.
 */
public final class Signals {
    /** The kernel's largest signal number. */
    public static final int MAX = 64;
    /** glibc's SIGRTMIN: the kernel's 32 and 33 are the threading library's own. */
    private static final int RTMIN = 34;

    /** Index n is the name of signal n + 1. */
    private static final List<String> NAMES = List.of("HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE",
            "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
            "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS");
    private static final Pattern REALTIME = Pattern.compile("RT(MIN|MAX)([+-]\\d{1,2})?");

    private Signals() {
    }

    /** The signal's number, or empty for anything that names none (case does not matter, SIG is optional). */
    public static OptionalInt parse(String text) {
        if (text.matches("\\d{1,2}")) {
            int n = Integer.parseInt(text);
            return n >= 1 && n <= MAX ? OptionalInt.of(n) : OptionalInt.empty();
        }
        String name = text.toUpperCase(Locale.ROOT);
        name = name.startsWith("SIG") ? name.substring(3) : name;
        int index = NAMES.indexOf(name);
        if (index >= 0) {
            return OptionalInt.of(index + 1);
        }
        Matcher rt = REALTIME.matcher(name);
        if (!rt.matches()) {
            return OptionalInt.empty();
        }
        int offset = rt.group(2) == null ? 0 : Integer.parseInt(rt.group(2));
        int n = rt.group(1).equals("MIN") ? RTMIN + offset : MAX + offset;
        return n >= RTMIN && n <= MAX ? OptionalInt.of(n) : OptionalInt.empty();
    }

    /** What {@link #parse} takes, for error messages. */
    public static String accepted() {
        return "a signal number from 1 to " + MAX + ", a name such as TERM or SIGKILL, or SIGRTMIN+N";
    }
}
