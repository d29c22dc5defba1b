package dev.vessel.core.sysctl;

import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The kernel parameters a task may set (a config's {@code sysctls}): those of a network or an IPC namespace,
 * which the task owns, as runc allows them; any other would change its host. The launch helper holds the
 * same list (PROTOCOL.md, SYSCTL), so that neither alone decides what reaches {@code /proc/sys}.
 */
public final class Sysctls {
    /** The namespace a parameter belongs to. */
    public enum Scope { NETWORK, IPC }

    /** Dotted words, each a directory of {@code /proc/sys} but the last: nothing can climb out of it. */
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)+");
    /** The helper's limit: net.ipv4.conf.IFNAME.name fits with room to spare. */
    public static final int MAX_KEY_LENGTH = 128;
    public static final int MAX_VALUE_LENGTH = 4096;
    private static final Set<String> IPC = Set.of("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
            "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced");
    /** For a refusal: what may be set. */
    public static final String ALLOWED = "net.*, fs.mqueue.*, kernel.msgmax, kernel.msgmnb, kernel.msgmni,"
            + " kernel.sem, kernel.shmall, kernel.shmmax, kernel.shmmni, kernel.shm_rmid_forced";

    private Sysctls() {
    }

    /** Whether {@code key} is dotted words of at most {@link #MAX_KEY_LENGTH} characters. */
    public static boolean wellFormed(String key) {
        return key.length() <= MAX_KEY_LENGTH && KEY.matcher(key).matches();
    }

    /** The namespace {@code key} belongs to; empty for a parameter of the whole kernel. */
    public static Optional<Scope> scopeOf(String key) {
        if (key.startsWith("net.")) {
            return Optional.of(Scope.NETWORK);
        }
        if (key.startsWith("fs.mqueue.") || IPC.contains(key)) {
            return Optional.of(Scope.IPC);
        }
        return Optional.empty();
    }
}
