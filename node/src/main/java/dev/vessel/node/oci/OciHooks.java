package dev.vessel.node.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A bundle's hooks that vesseld runs on the host, the runtime namespace, each with the container's OCI state on
 * stdin. {@code prestart} and {@code createRuntime} run once the create left the task CREATED (its namespaces
 * exist, its program not yet started); one that fails fails the create, as in runc. Vessel's launch helper has
 * pivoted into the root file system by then, so such a hook reaches the container's files through
 * {@code /proc/PID/root}, not the bundle's mount point as runc sets it up. {@code poststart} and {@code poststop}
 * run after the program started, after the container was deleted; their failures are warnings, as the spec says.
 * {@code createContainer} and {@code startContainer} run inside the container's namespaces, before pivot_root
 * and before the program, at points inside the launch helper: they are refused rather than run elsewhere.
 */
public final class OciHooks {
    private static final System.Logger LOG = System.getLogger(OciHooks.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The hooks a container carries, as the bundle gave them. */
    static final String HOOKS_LABEL = "dev.vessel.oci.hooks";
    static final Set<String> RUN = Set.of("prestart", "createRuntime", "poststart", "poststop");
    /** Those run during create, in this order; the first that fails fails the create. */
    public static final List<String> CREATE = List.of("prestart", "createRuntime");
    private static final Map<String, String> REFUSED = Map.of(
            "createContainer", "runs in the container's namespaces before pivot_root, inside Vessel's launch helper",
            "startContainer", "runs in the container before its program, inside Vessel's launch helper");
    private static final long DEFAULT_TIMEOUT_SECONDS = 60;
    /** How much of a failed hook's output its error quotes. */
    private static final int OUTPUT_QUOTED = 1024;

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
        for (JsonNode hook : hooks(config, phase)) {
            String failure = runOne(hook, state);
            if (failure != null) {
                LOG.log(Level.WARNING, "{0} hook {1} of container ''{2}'' {3}", phase, hook.get("path").asText(),
                        config.getId(), failure);
            }
        }
    }

    /**
     * Runs the create hooks ({@code prestart}, then {@code createRuntime}), each with {@code state} on stdin; the
     * first that fails (exits non-zero, runs past its timeout, cannot start) throws naming its JSON path, and
     * those after it do not run.
     */
    public static void runCreate(ContainerConfig config, String state) {
        for (String phase : CREATE) {
            List<JsonNode> hooks = hooks(config, phase);
            for (int i = 0; i < hooks.size(); i++) {
                String failure = runOne(hooks.get(i), state);
                if (failure != null) {
                    throw new VesselException(ErrorCode.INTERNAL, "hooks." + phase + "[" + i + "]",
                            Quoted.of(hooks.get(i).get("path").asText()) + " " + failure);
                }
            }
        }
    }

    private static List<JsonNode> hooks(ContainerConfig config, String phase) {
        String hooks = config.getLabelsOrDefault(HOOKS_LABEL, "");
        if (hooks.isEmpty()) {
            return List.of();
        }
        try {
            List<JsonNode> list = new ArrayList<>();
            JSON.readTree(hooks).path(phase).forEach(list::add);
            return list;
        } catch (IOException e) {
            throw new VesselException(ErrorCode.INTERNAL, HOOKS_LABEL, "unreadable hooks: " + e.getMessage());
        }
    }

    /**
     * Runs one hook; answers null when it exited 0, else what went wrong with the end of its output.
     * {@code args[0]} is the program's name as the spec has it; Java runs {@code path} under its own name.
     */
    private static String runOne(JsonNode hook, String state) {
        List<String> command = new ArrayList<>(List.of(hook.get("path").asText()));
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
        // read on its own thread, so that a hook writing much never blocks and its timeout still holds
        var output = new OutputTail(p);
        try (OutputStream in = p.getOutputStream()) {
            in.write(state.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // a hook that does not read its stdin
        }
        long timeout = hook.path("timeout").asLong(DEFAULT_TIMEOUT_SECONDS);
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

    /** The last bytes a hook wrote (stdout and stderr), read until it closes them. */
    private static final class OutputTail {
        private final byte[] tail = new byte[OUTPUT_QUOTED];
        private int length;
        private final Thread reader;

        OutputTail(Process p) {
            reader = Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[8192];
                try (var out = p.getInputStream()) {
                    for (int n; (n = out.read(buf)) >= 0; ) {
                        keep(buf, n);
                    }
                } catch (IOException e) {
                    // the hook was killed
                }
            });
        }

        private synchronized void keep(byte[] buf, int n) {
            int from = Math.max(0, n - tail.length);
            int take = n - from;
            int shift = Math.min(length, tail.length - take);
            System.arraycopy(tail, length - shift, tail, 0, shift);
            System.arraycopy(buf, from, tail, shift, take);
            length = shift + take;
        }

        /** {@code : OUTPUT} once the hook's output closed (a child it left holding it is not waited for long). */
        String quoted() throws InterruptedException {
            reader.join(Duration.ofSeconds(1));
            String text;
            synchronized (this) {
                text = new String(tail, 0, length, StandardCharsets.UTF_8).strip();
            }
            return text.isEmpty() ? "" : ": " + text;
        }
    }
}
