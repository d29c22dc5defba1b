package dev.vessel.node.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.hooks.ContainerHooks;
import dev.vessel.core.hooks.HookOutput;
import dev.vessel.core.model.ContainerConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A bundle's hooks that vesseld runs on the host, the runtime namespace, each with the container's OCI state on
 * stdin. {@code prestart} and {@code createRuntime} run once the create left the task CREATED (its namespaces
 * exist, its program not yet started); one that fails fails the create, as in runc. Vessel's launch helper has
 * pivoted into the root file system by then, so such a hook reaches the container's files through
 * {@code /proc/PID/root}, not the bundle's mount point as runc sets it up. {@code poststart} and {@code poststop}
 * run after the program started, after the container was deleted; their failures are warnings, as the spec says.
 * {@code createContainer} runs after them in create, in the task's namespaces but its mount namespace (util-linux's
 * {@code nsenter}): its path resolves on the host as the spec asks, and since the moment before pivot_root passes
 * inside the launch helper, the host's mount namespace stands in for the container's not yet pivoted one (the
 * root file system at {@code root.path}, and at {@code /proc/PID/root} as the task sees it).
 * {@code startContainer} runs in start, before the program, inside the container: an exec of its CREATED task,
 * the path resolved in the container's root; one that fails fails the start ({@link ContainerHooks#runInside}:
 * for a VM container the guest agent runs it, between its task's create and start in the guest).
 */
public final class OciHooks {
    private static final System.Logger LOG = System.getLogger(OciHooks.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Set<String> RUN = Set.of("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
            "poststop");
    /** Those run during create, in this order; the first that fails fails the create. */
    public static final List<String> CREATE = List.of("prestart", "createRuntime", "createContainer");
    /** The namespaces a createContainer hook joins when the task's differs from vesseld's (nsenter orders them). */
    private static final List<String> JOINED = List.of("user", "uts", "ipc", "net", "pid", "cgroup");

    private OciHooks() {
    }

    /** Checks {@code hooks} and returns what a container keeps of it (the hooks it runs); refusals name the path. */
    static String check(JsonNode hooks) {
        var kept = JSON.createObjectNode();
        var names = hooks.fieldNames();
        while (names.hasNext()) {
            String phase = names.next();
            JsonNode list = hooks.get(phase);
            if (list.isEmpty()) {
                continue;
            }
            if (!RUN.contains(phase)) {
                throw BundleConfig.refused("hooks." + phase, "is not a hook of the spec");
            }
            for (int i = 0; i < list.size(); i++) {
                String at = "hooks." + phase + "[" + i + "]";
                String path = list.get(i).path("path").asText("");
                if (!path.startsWith("/")) {
                    throw BundleConfig.refused(at + ".path", Quoted.of(path) + " must be an absolute path");
                }
                if (list.get(i).has("timeout") && list.get(i).get("timeout").asLong() <= 0) {
                    throw BundleConfig.refused(at + ".timeout", "must be a positive number of seconds");
                }
            }
            kept.set(phase, list);
        }
        return kept.toString();
    }

    /** Runs the container's hooks of {@code phase}, each with {@code state} on stdin; failures are logged. */
    public static void run(String phase, ContainerConfig config, String state) {
        for (JsonNode hook : ContainerHooks.of(config, phase)) {
            String failure = runOne(List.of(), hook, state);
            if (failure != null) {
                LOG.log(Level.WARNING, "{0} hook {1} of container ''{2}'' {3}", phase, hook.get("path").asText(),
                        config.getId(), failure);
            }
        }
    }

    /**
     * Runs the create hooks ({@code prestart}, {@code createRuntime}, then {@code createContainer} in the namespaces
     * of the task {@code pid}), each with {@code state} on stdin; the first that fails (exits non-zero, runs past
     * its timeout, cannot start) throws naming its JSON path, and those after it do not run.
     */
    public static void runCreate(ContainerConfig config, String state, long pid) {
        for (String phase : CREATE) {
            List<JsonNode> hooks = ContainerHooks.of(config, phase);
            List<String> prefix = phase.equals("createContainer") && !hooks.isEmpty() ? nsenter(pid) : List.of();
            for (int i = 0; i < hooks.size(); i++) {
                String failure = runOne(prefix, hooks.get(i), state);
                if (failure != null) {
                    throw new VesselException(ErrorCode.INTERNAL, "hooks." + phase + "[" + i + "]",
                            Quoted.of(hooks.get(i).get("path").asText()) + " " + failure);
                }
            }
        }
    }

    /**
     * {@code nsenter} into the namespaces of the task {@code pid} that differ from vesseld's (nsenter refuses to
     * join the user namespace it is in), all but the mount namespace.
     */
    private static List<String> nsenter(long pid) {
        List<String> command = new ArrayList<>(List.of("nsenter", "--target", Long.toString(pid)));
        for (String ns : JOINED) {
            try {
                Path own = Path.of("/proc/self/ns", ns);
                Path task = Path.of("/proc", Long.toString(pid), "ns", ns);
                if (!Files.readSymbolicLink(own).equals(Files.readSymbolicLink(task))) {
                    command.add("--" + ns);
                }
            } catch (IOException e) {
                throw new VesselException(ErrorCode.INTERNAL, "hooks.createContainer", "cannot read the namespaces"
                        + " of the task " + pid + ": " + e.getMessage());
            }
        }
        command.add("--");
        return command;
    }

    /**
     * Runs one hook, after {@code prefix} (a program that runs it elsewhere); answers null when it exited 0, else
     * what went wrong with the end of its output. {@code args[0]} is the program's name as the spec has it; Java
     * runs {@code path} under its own name.
     */
    private static String runOne(List<String> prefix, JsonNode hook, String state) {
        List<String> command = new ArrayList<>(prefix);
        command.add(hook.get("path").asText());
        JsonNode args = hook.path("args");
        for (int i = 1; i < args.size(); i++) {
            command.add(args.get(i).asText());
        }
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().clear();
        for (JsonNode e : hook.path("env")) {
            String[] pair = e.asText().split("=", 2);
            builder.environment().put(pair[0], pair.length > 1 ? pair[1] : "");
        }
        Process p;
        try {
            p = builder.start();
        } catch (IOException e) {
            return "could not run: " + e.getMessage();
        }
        var output = HookOutput.of(p);
        try (OutputStream in = p.getOutputStream()) {
            in.write(state.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // a hook that does not read its stdin
        }
        long timeout = hook.path("timeout").asLong(ContainerHooks.DEFAULT_TIMEOUT_SECONDS);
        try {
            if (!p.waitFor(timeout, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                return "ran past its timeout of " + timeout + " s and was killed" + output.quoted();
            }
            return p.exitValue() == 0 ? null : "exited " + p.exitValue() + output.quoted();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return "was interrupted";
        }
    }

}
