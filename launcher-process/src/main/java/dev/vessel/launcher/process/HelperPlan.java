package dev.vessel.launcher.process;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A complete launch plan for {@code vessel-launch}, field for field as its protocol (PROTOCOL.md)
 * defines it. Java makes every decision; the helper only executes this.
 */
public record HelperPlan(
        MonitorFiles monitorFiles,
        Optional<String> rootfs,
        List<String> argv,
        List<String> env,
        String cwd,
        OptionalInt uid,
        OptionalInt gid,
        List<Integer> supplementaryGids,
        Optional<String> hostname,
        int namespaces,
        List<String> uidMap,
        List<String> gidMap,
        Optional<String> netnsPath,
        List<Mount> mounts,
        int stdFs,
        List<String> maskedPaths,
        List<String> readonlyPaths,
        List<Rlimit> rlimits,
        boolean noNewPrivs,
        Optional<Caps> caps,
        long logCap,
        List<String> cgroups,
        boolean idmap,
        List<String> rootfsLower,
        Optional<OverlayUpper> rootfsUpper,
        Optional<SeccompFilter> seccompFilter,
        boolean init,
        List<JoinNamespace> joinNamespaces,
        boolean pause,
        OptionalInt oomScoreAdj,
        List<Sysctl> sysctls,
        Stdio stdio) {

    /** NAMESPACES bits (the helper's own numbering, not CLONE_*). */
    public static final int NS_MOUNT = 0x01, NS_UTS = 0x02, NS_IPC = 0x04, NS_PID = 0x08, NS_NET = 0x10,
            NS_CGROUP = 0x20, NS_USER = 0x40, NS_ALL = 0x7F;

    /** STD_FS bits. */
    public static final int STD_PROC = 0x01, STD_SYS = 0x02, STD_DEV = 0x04, STD_READONLY_ROOT = 0x08;

    /** MOUNT hints; HOST_NODE: the bind's source is a host device node, never idmapped. */
    public static final int HINT_MKDIR = 0x01, HINT_MKFILE = 0x02, HINT_HOST_NODE = 0x04;

    public HelperPlan {
        Objects.requireNonNull(monitorFiles, "monitorFiles");
        argv = List.copyOf(argv);
        env = List.copyOf(env);
        supplementaryGids = List.copyOf(supplementaryGids);
        uidMap = List.copyOf(uidMap);
        gidMap = List.copyOf(gidMap);
        mounts = List.copyOf(mounts);
        maskedPaths = List.copyOf(maskedPaths);
        readonlyPaths = List.copyOf(readonlyPaths);
        rlimits = List.copyOf(rlimits);
        cgroups = List.copyOf(cgroups);
        rootfsLower = List.copyOf(rootfsLower);
        Objects.requireNonNull(rootfsUpper, "rootfsUpper");
        Objects.requireNonNull(seccompFilter, "seccompFilter");
        joinNamespaces = List.copyOf(joinNamespaces);
        sysctls = List.copyOf(sysctls);
        Objects.requireNonNull(stdio, "stdio");
    }

    /**
     * SYSCTL: a kernel parameter by its dotted name, written in the task's own network or IPC namespace before
     * anything else of its setup; the helper refuses one of another family, or one whose namespace is its own.
     */
    public record Sysctl(String key, String value) {
        public Sysctl {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
        }
    }

    /**
     * The task's stdio beyond its logs: ATTACH_SOCKET, where its monitor serves it in stdio frames;
     * OPEN_STDIN, its stdin open to attached clients; TERMINAL, a pty of the container's devpts; and
     * WINSIZE, that pty's first size.
     */
    public record Stdio(Optional<String> attachSocket, boolean openStdin, boolean terminal,
            Optional<WindowSize> windowSize) {
        /** Logs only: stdin /dev/null, no socket. */
        public static final Stdio LOGS_ONLY = new Stdio(Optional.empty(), false, false, Optional.empty());

        public Stdio {
            Objects.requireNonNull(attachSocket, "attachSocket");
            Objects.requireNonNull(windowSize, "windowSize");
        }
    }

    /** A terminal's size in rows and columns (each 0 to 65535). */
    public record WindowSize(int rows, int columns) {
        /** A terminal's size until a client gives its own: the VT100's, as terminals start. */
        public static final WindowSize DEFAULT = new WindowSize(24, 80);

        public WindowSize {
            if (rows < 0 || rows > 0xFFFF || columns < 0 || columns > 0xFFFF) {
                throw new IllegalArgumentException("a window size is two u16s, not " + rows + "x" + columns);
            }
        }
    }

    /**
     * JOIN_NS: an existing namespace the task enters instead of a new one ({@code namespace}: one NS_*
     * bit, never one of {@link #namespaces}), as an nsfs file ({@code /proc/<pid>/ns/ipc} or a bind
     * mount of one).
     */
    public record JoinNamespace(int namespace, String path) {
        public JoinNamespace {
            if (Integer.bitCount(namespace) != 1 || (namespace & ~NS_ALL) != 0) {
                throw new IllegalArgumentException("not one namespace bit: 0x" + Integer.toHexString(namespace));
            }
            Objects.requireNonNull(path, "path");
        }
    }

    /** ROOTFS_UPPER: the upper and work directories of the overlay the helper mounts (one parent holds both). */
    public record OverlayUpper(String upper, String work) {
        public OverlayUpper {
            Objects.requireNonNull(upper, "upper");
            Objects.requireNonNull(work, "work");
        }
    }

    /**
     * Where the helper's monitor writes, each an absolute path: the exit file (published through
     * {@code <exitFile>.tmp}), the task's stdout and stderr (rotated to {@code <log>.1}) and its own
     * diagnostics. The helper derives the {@code .tmp} and {@code .1} names itself, next to the file.
     */
    public record MonitorFiles(String exitFile, String stdoutLog, String stderrLog, String monitorLog) {
        public MonitorFiles {
            Objects.requireNonNull(exitFile, "exitFile");
            Objects.requireNonNull(stdoutLog, "stdoutLog");
            Objects.requireNonNull(stderrLog, "stderrLog");
            Objects.requireNonNull(monitorLog, "monitorLog");
        }
    }

    /** One mount(2): flags are MS_* bits; empty strings mean NULL. */
    public record Mount(long flags, int hints, String source, String target, String fstype, String data) {
    }

    /** One setrlimit: the kernel's RLIMIT_* number; {@code -1L} is RLIM_INFINITY. */
    public record Rlimit(int resource, long soft, long hard) {
    }

    /**
     * A seccomp filter for seccomp(SECCOMP_SET_MODE_FILTER): SECCOMP_FILTER_FLAG_* bits and a
     * {@code struct sock_filter} array in the host's byte order (8 bytes an instruction, at most 4096).
     */
    public record SeccompFilter(int flags, byte[] program) {
        public SeccompFilter {
            if (program.length == 0 || program.length % 8 != 0 || program.length > 4096 * 8) {
                throw new IllegalArgumentException("a seccomp program is 1 to 4096 instructions of 8 bytes, not "
                        + program.length + " bytes");
            }
            program = program.clone();
        }

        @Override
        public byte[] program() {
            return program.clone();
        }
    }

    /** Capability masks, bit n = capability n. */
    public record Caps(long bounding, long effective, long permitted, long inheritable, long ambient) {
    }
}
