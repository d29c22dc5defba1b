package dev.vessel.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.seccomp.SeccompProfile;
import dev.vessel.isolators.linux.SeccompFilters;
import dev.vessel.linux.Capability;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The OCI runtimes Vessel is measured against, run as their users run them: a bundle made by
 * {@code runc spec}, and the commands for {@code runc run} and {@code crun run}. crun refuses a hybrid
 * cgroup host; on one, {@code bench/run} starts the benchmarks in a mount namespace without the
 * cgroup2 mount, so crun runs bare.
 */
final class OciRuntimes {
    private static final ObjectMapper JSON = new ObjectMapper();

    private OciRuntimes() {
    }

    /**
     * {@code runc spec}'s default, run as root, with {@code /bin/true} and our rootfs. It keeps its own
     * network namespace, as a default Vessel container has one. Like a Vessel container it gets the
     * default seccomp profile (resolved for Vessel's default capabilities, for this host's
     * architectures, as Vessel compiles it) and runc's current masked paths (runc spec's list lacks the
     * newest). Without {@code masks}, the masked and read-only paths are left out: what applying them
     * costs a runtime.
     */
    static Path bundle(Path dir, Path rootfs, boolean masks) throws Exception {
        Files.createDirectories(dir);
        Process spec = new ProcessBuilder("runc", "spec").directory(dir.toFile()).inheritIO().start();
        if (spec.waitFor() != 0) {
            throw new IllegalStateException("runc spec failed");
        }
        Path config = dir.resolve("config.json");
        String json = Files.readString(config)
                .replace("\"terminal\": true", "\"terminal\": false")
                .replaceFirst("\"args\": \\[\\s*\"sh\"\\s*\\]", "\"args\": [\"/bin/true\"]")
                .replace("\"path\": \"rootfs\"", "\"path\": \"" + rootfs + "\"");
        if (!json.contains("\"network\"") || !json.contains("/bin/true")) {
            throw new IllegalStateException("runc spec's config.json changed shape; adjust OciRuntimes.bundle");
        }
        ObjectNode tree = (ObjectNode) JSON.readTree(json);
        ObjectNode linux = (ObjectNode) tree.get("linux");
        if (masks) {
            ((ArrayNode) linux.get("maskedPaths")).add("/sys/devices/virtual/powercap");
        } else {
            linux.remove("maskedPaths");
            linux.remove("readonlyPaths");
        }
        linux.set("seccomp", JSON.readTree(defaultSeccompProfile()));
        Files.writeString(config, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tree));
        return dir;
    }

    /** Vessel's default profile as runc and crun take it: conditions resolved, this host's architectures only. */
    static String defaultSeccompProfile() {
        SeccompProfile.Host host = SeccompProfile.Host.current();
        SeccompProfile resolved = SeccompProfile.parse(SeccompFilters.DEFAULT_PROFILE_JSON).resolve(
                Capability.CONTAINER_DEFAULT.stream().map(Capability::name).collect(Collectors.toSet()), host);
        List<String> arches = switch (host.arch()) {
            case "amd64" -> List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
            case "arm64" -> List.of("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
            default -> throw new IllegalStateException("no seccomp architectures for " + host.arch());
        };
        return new SeccompProfile(resolved.defaultAction(), resolved.defaultErrnoRet(), arches, resolved.flags(),
                resolved.syscalls()).toJson();
    }

    static String[] runcRun(Path state, Path bundle, String id) {
        return new String[] {"runc", "--root", state.toString(), "run", "--bundle", bundle.toString(), id};
    }

    static String[] crunRun(Path state, Path bundle, String id) {
        return new String[] {"crun", "--root", state.toString(), "run", "--bundle", bundle.toString(), id};
    }

    /** Runs a command to its end, its output dropped (reading it would be part of what is timed). */
    static void exec(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectErrorStream(true).start();
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + rc);
        }
    }
}
