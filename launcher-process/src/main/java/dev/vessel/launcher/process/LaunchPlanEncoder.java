package dev.vessel.launcher.process;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Encodes a {@link HelperPlan} in the binary format of vessel-launch's protocol, version 2. */
public final class LaunchPlanEncoder {
    static final int VERSION = 2;
    /** The helper refuses larger bodies. */
    static final int MAX_BODY = 16 << 20;

    // 0x01 was version 1's RUN_DIR: the monitor's files are named one by one since version 2
    private static final int ROOTFS = 0x02, ARG = 0x03, ENV = 0x04, CWD = 0x05, UID = 0x06,
            GID = 0x07, SUPP_GID = 0x08, HOSTNAME = 0x09, NAMESPACES = 0x0A, UID_MAP = 0x0B, GID_MAP = 0x0C,
            NETNS_PATH = 0x0D, MOUNT = 0x0E, STD_FS = 0x0F, MASKED_PATH = 0x10, RLIMIT = 0x11,
            NO_NEW_PRIVS = 0x12, CAPS = 0x13, LOG_CAP = 0x14, CGROUP = 0x15, EXIT_FILE = 0x16, STDOUT_LOG = 0x17,
            STDERR_LOG = 0x18, MONITOR_LOG = 0x19, READONLY_PATH = 0x1A, SECCOMP_FILTER = 0x1B, IDMAP = 0x1C,
            ROOTFS_LOWER = 0x1D, ROOTFS_UPPER = 0x1E, INIT = 0x1F, ATTACH_SOCKET = 0x20,
            TERMINAL = 0x21, OPEN_STDIN = 0x22, WINSIZE = 0x23, JOIN_NS = 0x24, PAUSE = 0x28, OOM_SCORE_ADJ = 0x29,
            SYSCTL = 0x2A;

    private final ByteArrayOutputStream body = new ByteArrayOutputStream();

    private LaunchPlanEncoder() {
    }

    public static byte[] encode(HelperPlan plan) {
        LaunchPlanEncoder e = new LaunchPlanEncoder();
        e.str(EXIT_FILE, plan.monitorFiles().exitFile());
        e.str(STDOUT_LOG, plan.monitorFiles().stdoutLog());
        e.str(STDERR_LOG, plan.monitorFiles().stderrLog());
        e.str(MONITOR_LOG, plan.monitorFiles().monitorLog());
        plan.rootfs().ifPresent(r -> e.str(ROOTFS, r));
        plan.argv().forEach(a -> e.str(ARG, a));
        plan.env().forEach(v -> e.str(ENV, v));
        e.str(CWD, plan.cwd());
        plan.uid().ifPresent(u -> e.u32(UID, u));
        plan.gid().ifPresent(g -> e.u32(GID, g));
        plan.supplementaryGids().forEach(g -> e.u32(SUPP_GID, g));
        plan.hostname().ifPresent(h -> e.str(HOSTNAME, h));
        e.u32(NAMESPACES, plan.namespaces());
        plan.uidMap().forEach(m -> e.str(UID_MAP, m));
        plan.gidMap().forEach(m -> e.str(GID_MAP, m));
        plan.netnsPath().ifPresent(p -> e.str(NETNS_PATH, p));
        for (HelperPlan.Mount m : plan.mounts()) {
            byte[][] strings = {utf8(m.source()), utf8(m.target()), utf8(m.fstype()), utf8(m.data())};
            int size = 8 + 4;
            for (byte[] s : strings) {
                size += 4 + s.length;
            }
            ByteBuffer b = buffer(size).putLong(m.flags()).putInt(m.hints());
            for (byte[] s : strings) {
                b.putInt(s.length).put(s);
            }
            e.record(MOUNT, b.array());
        }
        if (plan.stdFs() != 0) {
            e.u32(STD_FS, plan.stdFs());
        }
        plan.maskedPaths().forEach(p -> e.str(MASKED_PATH, p));
        plan.readonlyPaths().forEach(p -> e.str(READONLY_PATH, p));
        for (HelperPlan.Rlimit r : plan.rlimits()) {
            e.record(RLIMIT, buffer(20).putInt(r.resource()).putLong(r.soft()).putLong(r.hard()).array());
        }
        e.u32(NO_NEW_PRIVS, plan.noNewPrivs() ? 1 : 0);
        plan.caps().ifPresent(c -> e.record(CAPS, buffer(40).putLong(c.bounding()).putLong(c.effective())
                .putLong(c.permitted()).putLong(c.inheritable()).putLong(c.ambient()).array()));
        e.record(LOG_CAP, buffer(8).putLong(plan.logCap()).array());
        plan.cgroups().forEach(c -> e.str(CGROUP, c));
        if (plan.idmap()) {
            e.u32(IDMAP, 1);
        }
        plan.rootfsLower().forEach(l -> e.str(ROOTFS_LOWER, l));
        plan.rootfsUpper().ifPresent(u -> {
            byte[] upper = utf8(u.upper());
            byte[] work = utf8(u.work());
            e.record(ROOTFS_UPPER, buffer(8 + upper.length + work.length)
                    .putInt(upper.length).put(upper).putInt(work.length).put(work).array());
        });
        plan.seccompFilter().ifPresent(f -> {
            byte[] program = f.program();
            e.record(SECCOMP_FILTER, buffer(4 + program.length).putInt(f.flags()).put(program).array());
        });
        if (plan.init()) {
            e.u32(INIT, 1);
        }
        HelperPlan.Stdio stdio = plan.stdio();
        stdio.attachSocket().ifPresent(p -> e.str(ATTACH_SOCKET, p));
        if (stdio.openStdin()) {
            e.u32(OPEN_STDIN, 1);
        }
        if (stdio.terminal()) {
            e.u32(TERMINAL, 1);
        }
        stdio.windowSize().ifPresent(w -> e.u32(WINSIZE, w.rows() << 16 | w.columns()));
        for (HelperPlan.JoinNamespace j : plan.joinNamespaces()) {
            byte[] path = utf8(j.path());
            e.record(JOIN_NS, buffer(4 + path.length).putInt(j.namespace()).put(path).array());
        }
        if (plan.pause()) {
            e.u32(PAUSE, 1);
        }
        plan.oomScoreAdj().ifPresent(score -> e.u32(OOM_SCORE_ADJ, score));
        plan.sysctls().forEach(s -> e.str(SYSCTL, s.key() + "=" + s.value()));

        byte[] bodyBytes = e.body.toByteArray();
        if (bodyBytes.length > MAX_BODY) {
            throw new IllegalArgumentException("launch plan of " + bodyBytes.length + " bytes exceeds the helper's "
                    + MAX_BODY + "-byte limit");
        }
        return buffer(12 + bodyBytes.length).put("VSLP".getBytes(StandardCharsets.US_ASCII))
                .putShort((short) VERSION).putShort((short) 0).putInt(bodyBytes.length).put(bodyBytes).array();
    }

    private void str(int tag, String value) {
        record(tag, utf8(value));
    }

    private void u32(int tag, int value) {
        record(tag, buffer(4).putInt(value).array());
    }

    private void record(int tag, byte[] payload) {
        body.writeBytes(buffer(6).putShort((short) tag).putInt(payload.length).array());
        body.writeBytes(payload);
    }

    private static byte[] utf8(String s) {
        if (s.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a launch plan string must not contain NUL: " + s.replace("\0", "\\0"));
        }
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static ByteBuffer buffer(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
