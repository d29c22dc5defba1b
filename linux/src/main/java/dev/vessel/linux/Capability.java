package dev.vessel.linux;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** Linux capabilities; the ordinal is the kernel's capability number (linux/capability.h). */
public enum Capability {
    CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID,
    CAP_SETUID, CAP_SETPCAP, CAP_LINUX_IMMUTABLE, CAP_NET_BIND_SERVICE, CAP_NET_BROADCAST, CAP_NET_ADMIN,
    CAP_NET_RAW, CAP_IPC_LOCK, CAP_IPC_OWNER, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_CHROOT, CAP_SYS_PTRACE,
    CAP_SYS_PACCT, CAP_SYS_ADMIN, CAP_SYS_BOOT, CAP_SYS_NICE, CAP_SYS_RESOURCE, CAP_SYS_TIME,
    CAP_SYS_TTY_CONFIG, CAP_MKNOD, CAP_LEASE, CAP_AUDIT_WRITE, CAP_AUDIT_CONTROL, CAP_SETFCAP,
    CAP_MAC_OVERRIDE, CAP_MAC_ADMIN, CAP_SYSLOG, CAP_WAKE_ALARM, CAP_BLOCK_SUSPEND, CAP_AUDIT_READ,
    CAP_PERFMON, CAP_BPF, CAP_CHECKPOINT_RESTORE;

    /** Written in a config's add/drop list to mean every capability. */
    public static final String ALL = "ALL";

    /**
     * A container's default set, podman's: Docker's without MKNOD (device nodes), NET_RAW (forged
     * packets, ARP spoofing) and AUDIT_WRITE, which ordinary programs do not need.
     */
    public static final Set<Capability> CONTAINER_DEFAULT = Collections.unmodifiableSet(EnumSet.of(
            CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_NET_BIND_SERVICE, CAP_SETFCAP,
            CAP_SETGID, CAP_SETPCAP, CAP_SETUID, CAP_SYS_CHROOT));

    public int number() {
        return ordinal();
    }

    /** Accepts "CAP_CHOWN", "chown", "Cap_Chown"; empty for a name the kernel does not know. */
    public static Optional<Capability> parse(String name) {
        String upper = name.toUpperCase(Locale.ROOT);
        String full = upper.startsWith("CAP_") ? upper : "CAP_" + upper;
        for (Capability c : values()) {
            if (c.name().equals(full)) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }
}
