package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

/**
 * cgroup v2 has no devices controller: device access is decided by a BPF program of type
 * CGROUP_DEVICE attached to the cgroup. This builds one from an allowlist (the same rules as v1's
 * devices.allow) and attaches it, through the bpf(2) system call.
 */
public final class CgroupDeviceProgram {
    /** One allowlist entry; a negative major or minor matches any. type 'c', 'b' or 'a' (both). */
    public record Rule(char type, int major, int minor, String access) {
        /** Parses devices.allow syntax, e.g. {@code "c 1:3 rwm"}, {@code "c 136:* rwm"}. */
        public static Rule parse(String rule) {
            String[] parts = rule.trim().split("\\s+");
            String[] numbers = parts[1].split(":");
            return new Rule(parts[0].charAt(0), number(numbers[0]), number(numbers[1]), parts[2]);
        }

        /** Whether this rule allows all that {@code other} asks for (its type, numbers and every access letter). */
        public boolean covers(Rule other) {
            return (type == 'a' || type == other.type) && (major < 0 || major == other.major)
                    && (minor < 0 || minor == other.minor)
                    && other.access.chars().allMatch(letter -> access.indexOf(letter) >= 0);
        }

        private static int number(String s) {
            return s.equals("*") ? -1 : Integer.parseInt(s);
        }
    }

    private static final long SYS_BPF = 321; // x86_64
    private static final int BPF_PROG_LOAD = 5;
    private static final int BPF_PROG_ATTACH = 8;
    private static final int BPF_PROG_TYPE_CGROUP_DEVICE = 15;
    private static final int BPF_CGROUP_DEVICE = 6;
    private static final int BPF_F_ALLOW_MULTI = 2;
    private static final int ATTR_SIZE = 128;
    private static final int LOG_SIZE = 64 * 1024;
    private static final int O_DIRECTORY = 0x10000;

    // instruction opcodes (linux/bpf.h)
    private static final int LDX_MEM_W = 0x61;
    private static final int ALU64_AND_K = 0x57;
    private static final int ALU64_RSH_K = 0x77;
    private static final int ALU64_MOV_X = 0xbf;
    private static final int ALU64_MOV_K = 0xb7;
    private static final int JMP_JNE_K = 0x55;
    private static final int EXIT = 0x95;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle BPF = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT),
            Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(1));

    private CgroupDeviceProgram() {
    }

    /** Loads a program allowing exactly {@code rules} and attaches it to the cgroup directory. */
    public static void attach(Path cgroupDir, List<Rule> rules) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            int progFd = load(arena, rules);
            try {
                int cgroupFd = LibC.open(cgroupDir.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC | O_DIRECTORY);
                try {
                    MemorySegment attach = arena.allocate(ATTR_SIZE, 8);
                    attach.set(JAVA_INT, 0, cgroupFd);
                    attach.set(JAVA_INT, 4, progFd);
                    attach.set(JAVA_INT, 8, BPF_CGROUP_DEVICE);
                    attach.set(JAVA_INT, 12, BPF_F_ALLOW_MULTI);
                    bpf(arena, BPF_PROG_ATTACH, attach, "attach the device program to " + cgroupDir);
                } finally {
                    LibC.close(cgroupFd);
                }
            } finally {
                LibC.close(progFd); // the cgroup holds the program now
            }
        }
    }

    /**
     * Loads a program allowing exactly {@code rules} and drops it again: fails as {@link #attach} would
     * where this kernel cannot run device programs (no CONFIG_CGROUP_BPF, BPF refused).
     */
    public static void checkLoads(List<Rule> rules) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            LibC.close(load(arena, rules));
        }
    }

    /** The loaded program's fd; the caller closes it. */
    private static int load(Arena arena, List<Rule> rules) throws ErrnoException {
        byte[] program = assemble(rules);
        MemorySegment insns = arena.allocate(program.length, 8);
        insns.copyFrom(MemorySegment.ofArray(program));
        MemorySegment license = arena.allocateFrom("Apache-2.0");
        MemorySegment log = arena.allocate(LOG_SIZE);
        MemorySegment load = arena.allocate(ATTR_SIZE, 8);
        load.set(JAVA_INT, 0, BPF_PROG_TYPE_CGROUP_DEVICE);
        load.set(JAVA_INT, 4, program.length / 8);
        load.set(JAVA_LONG, 8, insns.address());
        load.set(JAVA_LONG, 16, license.address());
        load.set(JAVA_INT, 24, 1); // log level: the verifier explains a refusal
        load.set(JAVA_INT, 28, LOG_SIZE);
        load.set(JAVA_LONG, 32, log.address());
        load.set(JAVA_INT, 68, BPF_CGROUP_DEVICE); // expected_attach_type
        try {
            return bpf(arena, BPF_PROG_LOAD, load, "load the device program");
        } catch (ErrnoException e) {
            String verifier = log.getString(0).strip();
            throw verifier.isEmpty() ? e : new ErrnoException("load the device program (" + verifier + ")", e.errno());
        }
    }

    private static int bpf(Arena arena, int command, MemorySegment attr, String what) throws ErrnoException {
        MemorySegment state = arena.allocate(CALL_STATE);
        long rc;
        try {
            rc = (long) BPF.invokeExact(state, SYS_BPF, command, attr, ATTR_SIZE);
        } catch (Throwable t) {
            throw new IllegalStateException("bpf downcall failed", t);
        }
        if (rc < 0) {
            throw new ErrnoException(what, (int) ERRNO.get(state, 0L));
        }
        return (int) rc;
    }

    /**
     * The program: r2 = device type, r3 = requested access, r4 = major, r5 = minor (from
     * struct bpf_cgroup_dev_ctx); then one block per rule that returns 1 (allow) when it matches;
     * finally return 0 (deny).
     */
    static byte[] assemble(List<Rule> rules) {
        ByteBuffer code = ByteBuffer.allocate(8 * (8 + rules.size() * 8)).order(ByteOrder.LITTLE_ENDIAN);
        insn(code, LDX_MEM_W, 2, 1, 0, 0);
        insn(code, ALU64_AND_K, 2, 0, 0, 0xffff);
        insn(code, LDX_MEM_W, 3, 1, 0, 0);
        insn(code, ALU64_RSH_K, 3, 0, 0, 16);
        insn(code, LDX_MEM_W, 4, 1, 4, 0);
        insn(code, LDX_MEM_W, 5, 1, 8, 0);
        for (Rule rule : rules) {
            int allowed = 0;
            for (char c : rule.access().toCharArray()) {
                allowed |= switch (c) {
                    case 'm' -> 1;
                    case 'r' -> 2;
                    case 'w' -> 4;
                    default -> throw new IllegalArgumentException("access '" + c + "' in rule " + rule);
                };
            }
            int type = switch (rule.type()) {
                case 'b' -> 1;
                case 'c' -> 2;
                case 'a' -> 0;
                default -> throw new IllegalArgumentException("device type '" + rule.type() + "' in rule " + rule);
            };
            // the block's instructions after each jump, so that every test can skip to the next block
            int length = (type != 0 ? 1 : 0) + 3 + (rule.major() >= 0 ? 1 : 0) + (rule.minor() >= 0 ? 1 : 0) + 2;
            int left = length;
            if (type != 0) {
                insn(code, JMP_JNE_K, 2, 0, --left, type);
            }
            insn(code, ALU64_MOV_X, 1, 3, 0, 0);
            left--;
            insn(code, ALU64_AND_K, 1, 0, 0, ~allowed & 7);
            left--;
            insn(code, JMP_JNE_K, 1, 0, --left, 0); // asks for more than the rule allows
            if (rule.major() >= 0) {
                insn(code, JMP_JNE_K, 4, 0, --left, rule.major());
            }
            if (rule.minor() >= 0) {
                insn(code, JMP_JNE_K, 5, 0, --left, rule.minor());
            }
            insn(code, ALU64_MOV_K, 0, 0, 0, 1);
            insn(code, EXIT, 0, 0, 0, 0);
        }
        insn(code, ALU64_MOV_K, 0, 0, 0, 0);
        insn(code, EXIT, 0, 0, 0, 0);
        byte[] out = new byte[code.position()];
        code.flip().get(out);
        return out;
    }

    private static void insn(ByteBuffer code, int opcode, int dst, int src, int offset, int imm) {
        code.put((byte) opcode).put((byte) ((src << 4) | dst)).putShort((short) offset).putInt(imm);
    }
}
