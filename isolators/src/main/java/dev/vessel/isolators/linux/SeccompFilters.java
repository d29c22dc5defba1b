package dev.vessel.isolators.linux;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.ShortNames;
import dev.vessel.core.model.SeccompFilter;
import dev.vessel.core.seccomp.SeccompProfile;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.SeccompCompiler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns a seccomp profile and a container's capabilities into the BPF program the launch helper
 * installs, compiled with libseccomp and cached by the profile and the capabilities: compiling
 * Docker's default profile takes tens of milliseconds, and almost every container asks for the same
 * few programs. Only the architectures this machine's kernel runs are compiled in (on x86-64:
 * x86-64, x86 and x32; on arm64: arm64 and arm), as Docker's archMap chooses them.
 */
public final class SeccompFilters {
    /** The default profile, a resource of this package: Docker's and podman's policy. */
    public static final String DEFAULT_PROFILE_JSON = resource("seccomp-default.json");
    /** The most programs kept: a few per distinct profile and capability set. */
    private static final int CACHE_SIZE = 64;

    private static final int EPERM = 1;
    private static final int FLAG_TSYNC = 1, FLAG_LOG = 2, FLAG_SPEC_ALLOW = 4;
    private static final Map<String, List<String>> ARCH_FAMILIES = Map.of(
            "x86_64", List.of("x86_64", "x86", "x32"),
            "aarch64", List.of("aarch64", "arm"));

    private final SeccompProfile.Host host;
    private final Path precompiled;
    /** The default profile's programs' keys: the capabilities alone (a custom profile's start with its hash). */
    private static final String DEFAULT_KEY = "default ";

    private final Map<String, SeccompFilter> cache = new ConcurrentHashMap<>();

    /**
     * @param precompiled where programs of the default profile compiled ahead of time may be
     *                    ({@link #writeDefault}): a guest image's, since a guest runs one task per boot
     *                    and would otherwise compile for each
     */
    public SeccompFilters(SeccompProfile.Host host, Path precompiled) {
        this.host = host;
        this.precompiled = precompiled;
    }

    /** The program of the default profile for a container holding {@code capabilities}. */
    public SeccompFilter defaultFilter(Set<String> capabilities) {
        return cache.computeIfAbsent(DEFAULT_KEY + capabilitiesKey(capabilities), key -> {
            Optional<SeccompFilter> shipped = readDefault(precompiled, capabilities);
            return shipped.orElseGet(() -> compile(SeccompProfile.parse(DEFAULT_PROFILE_JSON), capabilities));
        });
    }

    /**
     * The program for a config's own {@code profileJson} (a checked profile; a copy of the default
     * profile's text is compiled as any other) and a container holding {@code capabilities}.
     */
    public SeccompFilter filter(String profileJson, Set<String> capabilities) {
        String key = ShortNames.hash(profileJson, 64) + " " + capabilitiesKey(capabilities);
        SeccompFilter cached = cache.get(key);
        if (cached != null) {
            return cached;
        }
        SeccompProfile profile;
        try {
            profile = SeccompProfile.parse(profileJson);
        } catch (SeccompProfile.MalformedException e) { // the validator refuses it first; this guards a bypass
            throw VesselException.invalid("seccomp.profile_json", e.getMessage());
        }
        SeccompFilter compiled = compile(profile, capabilities);
        if (cache.size() >= CACHE_SIZE) {
            cache.clear(); // rare: more distinct profiles than any node uses; start over rather than track age
        }
        cache.put(key, compiled);
        return compiled;
    }

    /**
     * Compiles the default profile for {@code capabilities} into {@code dir}, where a
     * {@code SeccompFilters} built over that directory finds it (the guest image's build does this for
     * the default capabilities). Valid for a machine of this architecture whose kernel is at least as
     * new as the profile's oldest {@code minKernel} condition (4.8).
     */
    public static Path writeDefault(Path dir, Set<String> capabilities, SeccompProfile.Host host) throws IOException {
        SeccompFilter filter = new SeccompFilters(host, dir).compile(SeccompProfile.parse(DEFAULT_PROFILE_JSON),
                capabilities);
        byte[] program = filter.getProgram().toByteArray();
        Files.createDirectories(dir);
        Path file = defaultProgramFile(dir, capabilities);
        Files.write(file, ByteBuffer.allocate(4 + program.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(filter.getFlags()).put(program).array());
        return file;
    }

    private static Optional<SeccompFilter> readDefault(Path dir, Set<String> capabilities) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(defaultProgramFile(dir, capabilities));
        } catch (IOException e) {
            return Optional.empty(); // none shipped: compile
        }
        if (bytes.length < 4 + 8 || (bytes.length - 4) % 8 != 0) {
            return Optional.empty();
        }
        int flags = ByteBuffer.wrap(bytes, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        return Optional.of(SeccompFilter.newBuilder().setFlags(flags)
                .setProgram(com.google.protobuf.ByteString.copyFrom(bytes, 4, bytes.length - 4)).build());
    }

    /** {@code default-<hash of the capabilities>.bpf}: u32 flags, little-endian, then the program. */
    private static Path defaultProgramFile(Path dir, Set<String> capabilities) {
        return dir.resolve("default-" + ShortNames.hash(capabilitiesKey(capabilities), 16) + ".bpf");
    }

    /** Compiles without the cache. */
    public SeccompFilter compile(SeccompProfile profile, Set<String> capabilities) {
        SeccompProfile resolved = profile.resolve(capabilities, host);
        int defaultAction = action(resolved.defaultAction(), resolved.defaultErrnoRet().orElse(EPERM));
        List<SeccompCompiler.Rule> rules = new ArrayList<>();
        for (SeccompProfile.Syscall s : resolved.syscalls()) {
            int action = action(s.action(), s.errnoRet().orElse(EPERM));
            if (action == defaultAction) {
                continue; // libseccomp refuses a rule that says what the default says, and it changes nothing
            }
            for (String name : s.names()) {
                for (List<SeccompCompiler.ArgCondition> conditions : conditionSets(s.args())) {
                    rules.add(new SeccompCompiler.Rule(name, action, conditions));
                }
            }
        }
        try {
            SeccompCompiler.Program program = SeccompCompiler.compile(
                    new SeccompCompiler.Filter(defaultAction, architectures(resolved.architectures()), rules));
            return SeccompFilter.newBuilder().setProgram(com.google.protobuf.ByteString.copyFrom(program.bytes()))
                    .setFlags(flags(resolved.flags())).build();
        } catch (ErrnoException e) {
            throw new VesselException(ErrorCode.INVALID_ARGUMENT, "seccomp",
                    "the seccomp profile does not compile: " + e.getMessage(), e);
        }
    }

    /**
     * As runc reads an entry's args: comparisons of distinct arguments must all hold (one rule), but
     * several on one argument are alternatives (a rule each), since one argument cannot equal two values.
     */
    private static List<List<SeccompCompiler.ArgCondition>> conditionSets(List<SeccompProfile.Arg> args) {
        List<SeccompCompiler.ArgCondition> all = args.stream().map(SeccompFilters::condition).toList();
        Set<Integer> indexes = new HashSet<>();
        boolean repeated = args.stream().anyMatch(a -> !indexes.add(a.index()));
        return repeated ? all.stream().map(List::of).toList() : List.of(all);
    }

    private static SeccompCompiler.ArgCondition condition(SeccompProfile.Arg a) {
        int op = switch (a.op()) {
            case "SCMP_CMP_NE" -> SeccompCompiler.CMP_NE;
            case "SCMP_CMP_LT" -> SeccompCompiler.CMP_LT;
            case "SCMP_CMP_LE" -> SeccompCompiler.CMP_LE;
            case "SCMP_CMP_EQ" -> SeccompCompiler.CMP_EQ;
            case "SCMP_CMP_GE" -> SeccompCompiler.CMP_GE;
            case "SCMP_CMP_GT" -> SeccompCompiler.CMP_GT;
            case "SCMP_CMP_MASKED_EQ" -> SeccompCompiler.CMP_MASKED_EQ;
            default -> throw new IllegalArgumentException("unknown operator " + a.op()); // parse refuses it
        };
        return new SeccompCompiler.ArgCondition(a.index(), op, a.value(), a.valueTwo());
    }

    private static int action(String name, int errno) {
        return switch (name) {
            case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD" -> SeccompCompiler.ACT_KILL_THREAD;
            case "SCMP_ACT_KILL_PROCESS" -> SeccompCompiler.ACT_KILL_PROCESS;
            case "SCMP_ACT_TRAP" -> SeccompCompiler.ACT_TRAP;
            case "SCMP_ACT_ERRNO" -> SeccompCompiler.errno(errno);
            case "SCMP_ACT_TRACE" -> SeccompCompiler.trace(errno);
            case "SCMP_ACT_ALLOW" -> SeccompCompiler.ACT_ALLOW;
            case "SCMP_ACT_LOG" -> SeccompCompiler.ACT_LOG;
            default -> throw new IllegalArgumentException("unknown action " + name); // parse refuses it
        };
    }

    /** The profile's architectures this machine runs, as libseccomp names them; the native one always. */
    private static List<String> architectures(List<String> profile) {
        String nativeName = nativeArchitecture();
        List<String> family = ARCH_FAMILIES.getOrDefault(nativeName, List.of(nativeName));
        List<String> out = new ArrayList<>(List.of(nativeName));
        for (String arch : profile) {
            String name = arch.substring("SCMP_ARCH_".length()).toLowerCase(Locale.ROOT);
            if (family.contains(name) && !out.contains(name)) {
                out.add(name);
            }
        }
        return out;
    }

    private static String nativeArchitecture() {
        int nativeArch = SeccompCompiler.nativeArchitecture();
        for (String name : List.of("x86_64", "aarch64", "x86", "arm", "riscv64", "ppc64le", "s390x")) {
            if (SeccompCompiler.architecture(name) == nativeArch) {
                return name;
            }
        }
        throw new IllegalStateException("libseccomp's native architecture " + Integer.toHexString(nativeArch)
                + " is not one Vessel knows");
    }

    private static int flags(List<String> names) {
        int flags = 0;
        for (String name : names) {
            flags |= switch (name) {
                case "SECCOMP_FILTER_FLAG_TSYNC" -> FLAG_TSYNC;
                case "SECCOMP_FILTER_FLAG_LOG" -> FLAG_LOG;
                case "SECCOMP_FILTER_FLAG_SPEC_ALLOW" -> FLAG_SPEC_ALLOW;
                default -> throw new IllegalArgumentException("unknown flag " + name); // parse refuses it
            };
        }
        return flags;
    }

    private static String capabilitiesKey(Set<String> capabilities) {
        return String.join(",", new TreeSet<>(capabilities));
    }

    private static String resource(String name) {
        try (InputStream in = SeccompFilters.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " missing from the isolators jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
