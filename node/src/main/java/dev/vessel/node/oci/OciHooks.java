package dev.vessel.node.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A bundle's {@code poststart} and {@code poststop} hooks, which vesseld runs on the host with the
 * container's OCI state on stdin: after the program started, after the container was deleted. Their
 * failures are warnings, as the spec says. The other hooks run before the program, at points Vessel's
 * launch passes inside the launch helper (the root file system is pivoted into before the task blocks),
 * so they are refused rather than run late.
 */
public final class OciHooks {
    private static final System.Logger LOG = System.getLogger(OciHooks.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The hooks a container carries, as the bundle gave them. */
    static final String HOOKS_LABEL = "dev.vessel.oci.hooks";
    static final Set<String> RUN = Set.of("poststart", "poststop");
    private static final Map<String, String> REFUSED = Map.of(
            "prestart", "runs before the root file system is pivoted into, inside Vessel's launch helper",
            "createRuntime", "runs before the root file system is pivoted into, inside Vessel's launch helper",
            "createContainer", "runs in the container's namespaces before pivot_root, inside Vessel's launch helper",
            "startContainer", "runs in the container before its program, inside Vessel's launch helper");
    private static final long DEFAULT_TIMEOUT_SECONDS = 60;

    private OciHooks() {
    }

    /** Checks {@code hooks} and returns what a container keeps of it (poststart, poststop); refusals name the path. */
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
                throw BundleConfig.refused("hooks." + phase, REFUSED.getOrDefault(phase, "is not a hook of the spec")
                        + (REFUSED.containsKey(phase) ? ": not supported" : ""));
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
        String hooks = config.getLabelsOrDefault(HOOKS_LABEL, "");
        if (hooks.isEmpty()) {
            return;
        }
        try {
            for (JsonNode hook : JSON.readTree(hooks).path(phase)) {
                runOne(phase, config.getId(), hook, state);
            }
        } catch (IOException e) {
            throw new VesselException(dev.vessel.core.error.ErrorCode.INTERNAL, HOOKS_LABEL, "unreadable hooks: "
                    + e.getMessage());
        }
    }

    /** {@code args[0]} is the program's name as the spec has it; Java runs {@code path} under its own name. */
    private static void runOne(String phase, String id, JsonNode hook, String state) {
        List<String> command = new ArrayList<>(List.of(hook.get("path").asText()));
        JsonNode args = hook.path("args");
        for (int i = 1; i < args.size(); i++) {
            command.add(args.get(i).asText());
        }
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().clear();
        for (JsonNode e : hook.path("env")) {
            String[] pair = e.asText().split("=", 2);
            builder.environment().put(pair[0], pair.length > 1 ? pair[1] : "");
        }
        try {
            Process p = builder.start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(state.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                // a hook that does not read its stdin
            }
            long timeout = hook.path("timeout").asLong(DEFAULT_TIMEOUT_SECONDS);
            if (!p.waitFor(timeout, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                LOG.log(Level.WARNING, "{0} hook {1} of container ''{2}'' ran past its {3} s and was killed", phase,
                        command.getFirst(), id, timeout);
            } else if (p.exitValue() != 0) {
                LOG.log(Level.WARNING, "{0} hook {1} of container ''{2}'' exited {3}", phase, command.getFirst(), id,
                        p.exitValue());
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "{0} hook {1} of container ''{2}'' could not run: {3}", phase, command.getFirst(), id,
                    e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
