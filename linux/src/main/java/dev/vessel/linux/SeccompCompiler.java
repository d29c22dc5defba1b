package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Compiles seccomp rules into the classic BPF program that seccomp(SECCOMP_SET_MODE_FILTER) takes,
 * with libseccomp (libseccomp.so.2) through the FFM API: seccomp_init, seccomp_arch_add,
 * seccomp_rule_add_array, then seccomp_export_bpf into a memfd whose bytes are read back. The
 * program is installed elsewhere (the launch helper, just before the task's execve); compiling is
 * the slow part, so callers cache the result.
 *
 * <p>Actions and comparison operators are libseccomp's numbers ({@link #ACT_ALLOW}, {@link #errno},
 * {@link #CMP_EQ}…); architectures are libseccomp's names ("x86_64", "x86", "x32", "aarch64"…).
 */
public final class SeccompCompiler {
    public static final int ACT_KILL_PROCESS = 0x80000000;
    public static final int ACT_KILL_THREAD = 0x00000000;
    public static final int ACT_TRAP = 0x00030000;
    public static final int ACT_LOG = 0x7ffc0000;
    public static final int ACT_ALLOW = 0x7fff0000;

    public static final int CMP_NE = 1, CMP_LT = 2, CMP_LE = 3, CMP_EQ = 4, CMP_GE = 5, CMP_GT = 6, CMP_MASKED_EQ = 7;

    /** Seccomp's return value that fails the call with {@code errno}. */
    public static int errno(int errno) {
        return 0x00050000 | (errno & 0xffff);
    }

    /** Seccomp's return value that notifies a tracer with {@code value}. */
    public static int trace(int value) {
        return 0x7ff00000 | (value & 0xffff);
    }

    /** One rule: {@code action} for {@code syscall} when every condition holds (none: always). */
    public record Rule(String syscall, int action, List<ArgCondition> conditions) {
        public Rule {
            Objects.requireNonNull(syscall, "syscall");
            conditions = List.copyOf(conditions);
        }
    }

    /** Argument {@code index} compared with {@code op}; MASKED_EQ is {@code (arg & value) == valueTwo}. */
    public record ArgCondition(int index, int op, long value, long valueTwo) {
    }

    /** A whole filter: the action of every call no rule matches, the architectures, the rules. */
    public record Filter(int defaultAction, List<String> architectures, List<Rule> rules) {
        public Filter {
            architectures = List.copyOf(architectures);
            rules = List.copyOf(rules);
        }
    }

    /** The program, and the rules' syscall names libseccomp knows on none of the architectures. */
    public record Program(byte[] bytes, List<String> unknownSyscalls) {
    }

    /** The size of {@code struct scmp_arg_cmp}: unsigned arg, enum op, u64 datum_a, u64 datum_b. */
    private static final long ARG_CMP_SIZE = 24;
    private static final int NR_SCMP_ERROR = -1;
    private static final int MFD_CLOEXEC = 1;
    private static final int EEXIST = 17;
    private static final int ATTR_CTL_OPTIMIZE = 8;
    /** SCMP_FLTATR_CTL_OPTIMIZE's binary tree of syscall numbers, rather than one list. */
    private static final int OPTIMIZE_BINARY_TREE = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    // loaded on first use, for the process's lifetime: a node without libseccomp fails its first compile
    private static final class Lib {
        private static final SymbolLookup LIB = SymbolLookup.libraryLookup("libseccomp.so.2", Arena.global());
        static final MethodHandle INIT = lib("seccomp_init", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        static final MethodHandle RELEASE = LINKER.downcallHandle(LIB.findOrThrow("seccomp_release"),
                FunctionDescriptor.ofVoid(ADDRESS));
        static final MethodHandle ARCH_RESOLVE_NAME = lib("seccomp_arch_resolve_name",
                FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle ARCH_NATIVE = lib("seccomp_arch_native", FunctionDescriptor.of(JAVA_INT));
        static final MethodHandle ARCH_ADD = lib("seccomp_arch_add", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle SYSCALL_RESOLVE_NAME = lib("seccomp_syscall_resolve_name",
                FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle RULE_ADD_ARRAY = lib("seccomp_rule_add_array",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
        static final MethodHandle EXPORT_BPF = lib("seccomp_export_bpf", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle ATTR_SET = lib("seccomp_attr_set", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));

        private static MethodHandle lib(String name, FunctionDescriptor descriptor) {
            return LINKER.downcallHandle(LIB.findOrThrow(name), descriptor);
        }
    }

    private static final MethodHandle MEMFD_CREATE = ErrnoCalls.downcall("memfd_create",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle PREAD = ErrnoCalls.downcall("pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle LSEEK = ErrnoCalls.downcall("lseek",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));

    private SeccompCompiler() {
    }

    /** libseccomp's number (an AUDIT_ARCH_* value) of this machine's architecture. */
    public static int nativeArchitecture() {
        try {
            return (int) Lib.ARCH_NATIVE.invokeExact();
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** libseccomp's number of an architecture name, or 0 if it knows none such. */
    public static int architecture(String name) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) Lib.ARCH_RESOLVE_NAME.invokeExact(arena.allocateFrom(name));
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /**
     * Compiles the filter. A syscall name libseccomp does not know is left out, as runc does (a profile
     * names calls of every architecture and kernel); the result lists them. The native architecture is
     * always in the filter; a call from an architecture that is not gets the process killed.
     */
    public static Program compile(Filter filter) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ctx = (MemorySegment) Lib.INIT.invokeExact(filter.defaultAction());
            if (ctx.equals(MemorySegment.NULL)) {
                throw new ErrnoException("seccomp_init", ErrnoException.EINVAL);
            }
            try {
                // A tree costs the install less: the kernel runs the program for every syscall number
                // when it loads it (to cache the always-allowed ones), and a list walks ~300 compares
                // for each; measured 0.33 ms instead of 0.85 ms per launch for the default profile.
                int rc0 = (int) Lib.ATTR_SET.invokeExact(ctx, ATTR_CTL_OPTIMIZE, OPTIMIZE_BINARY_TREE);
                if (rc0 < 0) {
                    throw new ErrnoException("seccomp_attr_set SCMP_FLTATR_CTL_OPTIMIZE", -rc0);
                }
                int nativeArch = nativeArchitecture();
                for (String name : filter.architectures()) {
                    int arch = architecture(name);
                    if (arch == 0) {
                        throw new ErrnoException("seccomp architecture " + name, ErrnoException.EINVAL);
                    }
                    int rc = arch == nativeArch ? 0 : (int) Lib.ARCH_ADD.invokeExact(ctx, arch);
                    if (rc < 0 && -rc != EEXIST) {
                        throw new ErrnoException("seccomp_arch_add " + name, -rc);
                    }
                }
                List<String> unknown = new ArrayList<>();
                for (Rule rule : filter.rules()) {
                    int nr = (int) Lib.SYSCALL_RESOLVE_NAME.invokeExact(arena.allocateFrom(rule.syscall()));
                    if (nr == NR_SCMP_ERROR) {
                        unknown.add(rule.syscall());
                        continue;
                    }
                    MemorySegment args = arena.allocate(ARG_CMP_SIZE * Math.max(1, rule.conditions().size()), 8);
                    for (int i = 0; i < rule.conditions().size(); i++) {
                        ArgCondition c = rule.conditions().get(i);
                        long at = i * ARG_CMP_SIZE;
                        args.set(JAVA_INT, at, c.index());
                        args.set(JAVA_INT, at + 4, c.op());
                        args.set(JAVA_LONG, at + 8, c.value());
                        args.set(JAVA_LONG, at + 16, c.valueTwo());
                    }
                    int rc = (int) Lib.RULE_ADD_ARRAY.invokeExact(ctx, rule.action(), nr, rule.conditions().size(), args);
                    if (rc < 0) {
                        throw new ErrnoException("seccomp_rule_add " + rule.syscall(), -rc);
                    }
                }
                return new Program(export(arena, ctx), List.copyOf(unknown));
            } finally {
                Lib.RELEASE.invokeExact(ctx);
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** seccomp_export_bpf writes to a descriptor (libseccomp 2.5 has no in-memory export): a memfd. */
    private static byte[] export(Arena arena, MemorySegment ctx) throws Throwable {
        MemorySegment state = ErrnoCalls.newErrnoState(arena);
        int fd = (int) MEMFD_CREATE.invokeExact(state, arena.allocateFrom("seccomp-bpf"), MFD_CLOEXEC);
        if (fd < 0) {
            throw new ErrnoException("memfd_create", ErrnoCalls.errno(state));
        }
        try {
            int rc = (int) Lib.EXPORT_BPF.invokeExact(ctx, fd);
            if (rc < 0) {
                throw new ErrnoException("seccomp_export_bpf", -rc);
            }
            long size = (long) LSEEK.invokeExact(state, fd, 0L, 2 /* SEEK_END */);
            if (size < 0) {
                throw new ErrnoException("lseek seccomp memfd", ErrnoCalls.errno(state));
            }
            MemorySegment buf = arena.allocate(Math.max(1, size));
            long done = 0;
            while (done < size) {
                long n = (long) PREAD.invokeExact(state, fd, buf.asSlice(done), size - done, done);
                if (n <= 0) {
                    throw new ErrnoException("read seccomp memfd", n < 0 ? ErrnoCalls.errno(state) : 5 /* EIO */);
                }
                done += n;
            }
            return buf.asSlice(0, size).toArray(JAVA_BYTE);
        } finally {
            LibC.close(fd);
        }
    }
}
