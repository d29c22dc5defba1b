package dev.vessel.node.runtime;

import java.util.List;
import java.util.Locale;

/** Signal names as runc takes them ({@code KILL}, {@code SIGKILL}, {@code 9}, {@code RTMIN+3}), as numbers. */
final class Signals {
    /** Linux's numbering on x86-64 and arm64, from 1. */
    private static final List<String> NAMES = List.of("HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE",
            "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
            "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS");
    private static final int RTMIN = 34;
    private static final int MAX = 64;

    private Signals() {
    }

    static int parse(String text) {
        String name = text.toUpperCase(Locale.ROOT);
        name = name.startsWith("SIG") ? name.substring(3) : name;
        int number;
        if (name.chars().allMatch(Character::isDigit) && !name.isEmpty()) {
            number = Integer.parseInt(name);
        } else if (name.startsWith("RTMIN")) {
            number = RTMIN + offset(name.substring(5), text);
        } else {
            number = NAMES.indexOf(name) + 1;
        }
        if (number < 1 || number > MAX) {
            throw new RuntimeFailure("invalid signal: " + text);
        }
        return number;
    }

    private static int offset(String rest, String text) {
        if (rest.isEmpty()) {
            return 0;
        }
        if (!rest.startsWith("+") || rest.length() == 1 || !rest.substring(1).chars().allMatch(Character::isDigit)) {
            throw new RuntimeFailure("invalid signal: " + text);
        }
        return Integer.parseInt(rest.substring(1));
    }
}
