package dev.vessel.core.seccomp;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.Quoted;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A seccomp profile in the OCI runtime-spec's {@code linux.seccomp} format, with the conditional
 * entries of Docker's and podman's profiles ({@code includes}/{@code excludes} on the container's
 * capabilities, the host's architecture and its kernel version). Parsing checks every field and
 * names the JSON path of the first problem ({@code $.syscalls[3].args[0].op}); what it keeps is data,
 * turned into a filter by the {@code linux/seccomp} isolator. Docker's {@code archMap} stands for
 * {@code architectures} when that is absent. Fields this runtime has no use for ({@code comment},
 * {@code listenerPath}…) are ignored.
 */
public record SeccompProfile(String defaultAction, OptionalInt defaultErrnoRet, List<String> architectures,
        List<String> flags, List<Syscall> syscalls) {

    /** The actions a profile may name; SCMP_ACT_NOTIFY is not among them: it needs a listener Vessel does not run. */
    public static final Set<String> ACTIONS = Set.of("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG");
    public static final Set<String> OPERATORS = Set.of("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
            "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ");
    public static final Set<String> ARCHITECTURES = Set.of("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
            "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
            "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
            "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
            "SCMP_ARCH_RISCV64");
    public static final Set<String> FLAGS = Set.of("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
    /** Seccomp filters see six arguments. */
    private static final int MAX_ARG_INDEX = 5;
    private static final BigInteger U64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
    private static final ObjectMapper JSON = new ObjectMapper();

    public SeccompProfile {
        architectures = List.copyOf(architectures);
        flags = List.copyOf(flags);
        syscalls = List.copyOf(syscalls);
    }

    /** One entry of {@code syscalls}: the action for these names when the arguments and conditions hold. */
    public record Syscall(List<String> names, String action, OptionalInt errnoRet, List<Arg> args,
            Condition includes, Condition excludes) {
        public Syscall {
            names = List.copyOf(names);
            args = List.copyOf(args);
        }
    }

    /** An argument comparison; {@code value} and {@code valueTwo} are u64s, held in a long's bits. */
    public record Arg(int index, long value, long valueTwo, String op) {
    }

    /**
     * When an entry applies: every capability in {@code caps} held (for {@code includes}; any, for
     * {@code excludes}), the host's architecture (Go's names: amd64, arm64…) among {@code arches},
     * the kernel at least {@code minKernel}. Empty parts say nothing.
     */
    public record Condition(List<String> caps, List<String> arches, Optional<String> minKernel) {
        public static final Condition NONE = new Condition(List.of(), List.of(), Optional.empty());

        public Condition {
            caps = List.copyOf(caps);
            arches = List.copyOf(arches);
        }
    }

    /** A profile refused: the JSON path of the problem and what is wrong there. */
    public static final class MalformedException extends IllegalArgumentException {
        private final String path;

        MalformedException(String path, String problem) {
            super(path + ": " + problem);
            this.path = path;
        }

        public String path() {
            return path;
        }
    }

    /** The machine a profile's conditions are evaluated on: Go's architecture name and the kernel's release. */
    public record Host(String arch, String kernelRelease) {
        /** This JVM's machine. */
        public static Host current() {
            String arch = switch (System.getProperty("os.arch")) {
                case "amd64", "x86_64" -> "amd64";
                case "aarch64", "arm64" -> "arm64";
                case "x86", "i386", "i686" -> "386";
                case String other -> other;
            };
            return new Host(arch, System.getProperty("os.version"));
        }
    }

    /**
     * The entries that apply to a container holding {@code capabilities} (names such as
     * CAP_SYS_ADMIN) on {@code host}, with their conditions gone: what runc or crun get in a
     * config.json. Entries keep their order.
     */
    public SeccompProfile resolve(Set<String> capabilities, Host host) {
        List<Syscall> applying = new ArrayList<>();
        for (Syscall s : syscalls) {
            Condition in = s.includes();
            Condition ex = s.excludes();
            boolean applies = capabilities.containsAll(in.caps())
                    && (in.arches().isEmpty() || in.arches().contains(host.arch()))
                    && in.minKernel().map(min -> atLeast(host.kernelRelease(), min)).orElse(true)
                    && ex.caps().stream().noneMatch(capabilities::contains)
                    && !ex.arches().contains(host.arch())
                    && ex.minKernel().map(min -> !atLeast(host.kernelRelease(), min)).orElse(true);
            if (applies) {
                applying.add(new Syscall(s.names(), s.action(), s.errnoRet(), s.args(), Condition.NONE, Condition.NONE));
            }
        }
        return new SeccompProfile(defaultAction, defaultErrnoRet, architectures, flags, applying);
    }

    /** This profile in the OCI format (conditions included when there are any). */
    public String toJson() {
        var root = JSON.createObjectNode();
        root.put("defaultAction", defaultAction);
        defaultErrnoRet.ifPresent(e -> root.put("defaultErrnoRet", e));
        architectures.forEach(root.putArray("architectures")::add);
        if (!flags.isEmpty()) {
            flags.forEach(root.putArray("flags")::add);
        }
        var list = root.putArray("syscalls");
        for (Syscall s : syscalls) {
            var node = list.addObject();
            s.names().forEach(node.putArray("names")::add);
            node.put("action", s.action());
            s.errnoRet().ifPresent(e -> node.put("errnoRet", e));
            if (!s.args().isEmpty()) {
                var args = node.putArray("args");
                for (Arg a : s.args()) {
                    args.addObject().put("index", a.index()).put("value", unsigned(a.value()))
                            .put("valueTwo", unsigned(a.valueTwo())).put("op", a.op());
                }
            }
            condition(node, "includes", s.includes());
            condition(node, "excludes", s.excludes());
        }
        return root.toString();
    }

    private static BigInteger unsigned(long u64) {
        return new BigInteger(Long.toUnsignedString(u64));
    }

    private static void condition(ObjectNode node, String name, Condition c) {
        if (c.equals(Condition.NONE)) {
            return;
        }
        var out = node.putObject(name);
        if (!c.caps().isEmpty()) {
            c.caps().forEach(out.putArray("caps")::add);
        }
        if (!c.arches().isEmpty()) {
            c.arches().forEach(out.putArray("arches")::add);
        }
        c.minKernel().ifPresent(k -> out.put("minKernel", k));
    }

    /** Whether kernel release {@code release} ("6.1.0-13-amd64") is at least {@code min} ("4.8"). */
    static boolean atLeast(String release, String min) {
        String[] have = release.split("[^0-9]+", 4);
        String[] want = min.split("\\.");
        for (int i = 0; i < want.length; i++) {
            int h = i < have.length && !have[i].isEmpty() ? Integer.parseInt(have[i]) : 0;
            int w = Integer.parseInt(want[i]);
            if (h != w) {
                return h > w;
            }
        }
        return true;
    }

    /** Parses and checks a profile. */
    public static SeccompProfile parse(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new MalformedException("$", "not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new MalformedException("$", "must be a JSON object (an OCI linux.seccomp)");
        }
        String defaultAction = action("$.defaultAction", required(root, "$", "defaultAction"));
        OptionalInt defaultErrno = errno("$.defaultErrnoRet", root.get("defaultErrnoRet"));
        List<String> arches = root.has("architectures")
                ? strings("$.architectures", root.get("architectures"), ARCHITECTURES)
                : archMap(root.get("archMap"));
        List<String> flags = strings("$.flags", root.get("flags"), FLAGS);
        List<Syscall> syscalls = new ArrayList<>();
        JsonNode list = root.get("syscalls");
        if (list != null && !list.isNull()) {
            if (!list.isArray()) {
                throw new MalformedException("$.syscalls", "must be an array");
            }
            for (int i = 0; i < list.size(); i++) {
                syscalls.add(syscall("$.syscalls[" + i + "]", list.get(i)));
            }
        }
        return new SeccompProfile(defaultAction, defaultErrno, arches, flags, syscalls);
    }

    /**
     * Docker's and podman's files name their architectures in an {@code archMap} (each with the ones
     * its kernels also run) rather than a list; they come to the same list.
     */
    private static List<String> archMap(JsonNode node) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw new MalformedException("$.archMap", "must be an array");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String at = "$.archMap[" + i + "]";
            JsonNode entry = node.get(i);
            if (!entry.isObject() || !entry.path("architecture").isTextual()
                    || !ARCHITECTURES.contains(entry.get("architecture").asText())) {
                throw new MalformedException(at + ".architecture", "must be one of " + sorted(ARCHITECTURES));
            }
            out.add(entry.get("architecture").asText());
            out.addAll(strings(at + ".subArchitectures", entry.get("subArchitectures"), ARCHITECTURES));
        }
        return out.stream().distinct().toList();
    }

    private static Syscall syscall(String at, JsonNode node) {
        if (!node.isObject()) {
            throw new MalformedException(at, "must be an object");
        }
        JsonNode namesNode = node.has("names") ? node.get("names") : node.get("name");
        List<String> names = new ArrayList<>();
        if (namesNode != null && namesNode.isTextual()) { // the spec's early single "name"
            names.add(namesNode.asText());
        } else {
            names.addAll(strings(at + ".names", namesNode, null));
        }
        if (names.isEmpty()) {
            throw new MalformedException(at + ".names", "must name at least one system call");
        }
        for (int i = 0; i < names.size(); i++) {
            if (names.get(i).isEmpty()) {
                throw new MalformedException(at + ".names[" + i + "]", "must not be empty");
            }
        }
        String action = action(at + ".action", required(node, at, "action"));
        OptionalInt errnoRet = errno(at + ".errnoRet", node.get("errnoRet"));
        List<Arg> args = new ArrayList<>();
        JsonNode argsNode = node.get("args");
        if (argsNode != null && !argsNode.isNull()) {
            if (!argsNode.isArray()) {
                throw new MalformedException(at + ".args", "must be an array");
            }
            for (int i = 0; i < argsNode.size(); i++) {
                args.add(arg(at + ".args[" + i + "]", argsNode.get(i)));
            }
        }
        return new Syscall(names, action, errnoRet, args, condition(at + ".includes", node.get("includes")),
                condition(at + ".excludes", node.get("excludes")));
    }

    private static Arg arg(String at, JsonNode node) {
        if (!node.isObject()) {
            throw new MalformedException(at, "must be an object");
        }
        JsonNode index = required(node, at, "index");
        if (!index.isIntegralNumber() || index.asLong() < 0 || index.asLong() > MAX_ARG_INDEX) {
            throw new MalformedException(at + ".index", "must be an argument index from 0 to " + MAX_ARG_INDEX);
        }
        String op = required(node, at, "op").asText();
        if (!required(node, at, "op").isTextual() || !OPERATORS.contains(op)) {
            throw new MalformedException(at + ".op", "must be one of " + sorted(OPERATORS));
        }
        return new Arg(index.asInt(), u64(at + ".value", required(node, at, "value")),
                node.has("valueTwo") ? u64(at + ".valueTwo", node.get("valueTwo")) : 0, op);
    }

    private static Condition condition(String at, JsonNode node) {
        if (node == null || node.isNull()) {
            return Condition.NONE;
        }
        if (!node.isObject()) {
            throw new MalformedException(at, "must be an object");
        }
        JsonNode minKernel = node.get("minKernel");
        if (minKernel != null && !minKernel.isNull()
                && (!minKernel.isTextual() || !minKernel.asText().matches("\\d+(\\.\\d+){0,2}"))) {
            throw new MalformedException(at + ".minKernel", "must be a kernel version such as \"5.8\"");
        }
        return new Condition(strings(at + ".caps", node.get("caps"), null),
                strings(at + ".arches", node.get("arches"), null),
                Optional.ofNullable(minKernel).filter(JsonNode::isTextual).map(JsonNode::asText));
    }

    private static JsonNode required(JsonNode node, String at, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            throw new MalformedException(at + "." + field, "is required");
        }
        return value;
    }

    private static String action(String at, JsonNode node) {
        if (!node.isTextual() || !ACTIONS.contains(node.asText())) {
            String why = node.isTextual() && node.asText().equals("SCMP_ACT_NOTIFY")
                    ? "SCMP_ACT_NOTIFY needs a seccomp listener, which Vessel does not run; use one of "
                    : "must be one of ";
            throw new MalformedException(at, why + sorted(ACTIONS));
        }
        return node.asText();
    }

    private static OptionalInt errno(String at, JsonNode node) {
        if (node == null || node.isNull()) {
            return OptionalInt.empty();
        }
        if (!node.isIntegralNumber() || node.asLong() < 0 || node.asLong() > 4095) {
            throw new MalformedException(at, "must be an errno number from 0 to 4095");
        }
        return OptionalInt.of(node.asInt());
    }

    private static long u64(String at, JsonNode node) {
        if (!node.isIntegralNumber() || node.bigIntegerValue().signum() < 0
                || node.bigIntegerValue().compareTo(U64_MAX) > 0) {
            throw new MalformedException(at, "must be an integer from 0 to 2^64-1");
        }
        return node.bigIntegerValue().longValue();
    }

    /** An optional array of strings, each one of {@code allowed} unless that is null. */
    private static List<String> strings(String at, JsonNode node, Set<String> allowed) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw new MalformedException(at, "must be an array of strings");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode s = node.get(i);
            if (!s.isTextual()) {
                throw new MalformedException(at + "[" + i + "]", "must be a string");
            }
            if (allowed != null && !allowed.contains(s.asText())) {
                throw new MalformedException(at + "[" + i + "]", "unknown value " + Quoted.of(s.asText()) + " (known: "
                        + sorted(allowed) + ")");
            }
            out.add(s.asText());
        }
        return out;
    }

    private static String sorted(Set<String> values) {
        return String.join(", ", values.stream().sorted().toList());
    }
}
