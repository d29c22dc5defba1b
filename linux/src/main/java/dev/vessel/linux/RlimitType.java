package dev.vessel.linux;

import java.util.Locale;
import java.util.Optional;

/** Linux resource limits; the ordinal is the kernel's resource number (asm-generic/resource.h). */
public enum RlimitType {
    RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS, RLIMIT_NPROC, RLIMIT_NOFILE,
    RLIMIT_MEMLOCK, RLIMIT_AS, RLIMIT_LOCKS, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE, RLIMIT_NICE, RLIMIT_RTPRIO,
    RLIMIT_RTTIME;

    public int resource() {
        return ordinal();
    }

    /** Accepts "RLIMIT_NOFILE" or "nofile"; empty for a name the kernel does not know. */
    public static Optional<RlimitType> parse(String name) {
        String upper = name.toUpperCase(Locale.ROOT);
        String full = upper.startsWith("RLIMIT_") ? upper : "RLIMIT_" + upper;
        for (RlimitType t : values()) {
            if (t.name().equals(full)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
