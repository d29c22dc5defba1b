package dev.vessel.core.hooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The OCI hooks a container carries (a bundle's, kept in a label as the runtime spec spells them), and the ones
 * that run inside it: {@code startContainer}, as execs of its CREATED task before its program. The host's
 * runtime runs them for a process container; a VM's guest agent for a VM container, whose task exists only in
 * the guest, between its create and its start.
 */
public final class ContainerHooks {
    /** The label holding a container's hooks, {@code {"phase": [{"path", "args", "env", "timeout"}, …]}}. */
    public static final String LABEL = "dev.vessel.oci.hooks";
    /** The labels an OCI container carries: its bundle, and its annotations as one JSON object. */
    public static final String BUNDLE_LABEL = "dev.vessel.oci.bundle";
    public static final String ANNOTATIONS_LABEL = "dev.vessel.oci.annotations";
    public static final long DEFAULT_TIMEOUT_SECONDS = 60;
    /**
     * Made on first use, not with the class: every launch asks {@link #of} whether there are hooks, and in a
     * guest under TCG a mapper costs a first task a few hundred milliseconds it has no hooks to spend them on.
     */
    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private ContainerHooks() {
    }

    /** The container's hooks of {@code phase}, in order; none without the label. */
    public static List<JsonNode> of(ContainerConfig config, String phase) {
        String hooks = config.getLabelsOrDefault(LABEL, "");
        if (hooks.isEmpty()) {
            return List.of();
        }
        try {
            List<JsonNode> list = new ArrayList<>();
            Json.MAPPER.readTree(hooks).path(phase).forEach(list::add);
            return list;
        } catch (IOException e) {
            throw new VesselException(ErrorCode.INTERNAL, LABEL, "unreadable hooks: " + e.getMessage());
        }
    }

    /** The OCI state of a CREATED container whose task is {@code pid}, as a hook reads it on its stdin. */
    public static String createdState(ContainerConfig config, long pid) {
        ObjectNode state = Json.MAPPER.createObjectNode().put("ociVersion", "1.0.2").put("id", config.getId())
                .put("status", "created").put("pid", pid).put("bundle", config.getLabelsOrDefault(BUNDLE_LABEL, ""));
        try {
            state.set("annotations", Json.MAPPER.readTree(config.getLabelsOrDefault(ANNOTATIONS_LABEL, "{}")));
        } catch (IOException e) {
            state.putObject("annotations");
        }
        return state.toString();
    }

    /**
     * Runs the container's hooks of {@code phase} inside it, as execs of its CREATED task (its namespaces,
     * cgroups and user; {@code path} resolved in its root file system; {@code env} added to its environment),
     * each with {@code state} on stdin; the first that fails throws naming its JSON path.
     */
    public static void runInside(String phase, Containerizer containerizer, ContainerConfig config, String state) {
        List<JsonNode> hooks = of(config, phase);
        for (int i = 0; i < hooks.size(); i++) {
            String failure = execOne(containerizer, config.getId(), hooks.get(i), state);
            if (failure != null) {
                throw new VesselException(ErrorCode.INTERNAL, "hooks." + phase + "[" + i + "]",
                        Quoted.of(hooks.get(i).get("path").asText()) + " " + failure);
            }
        }
    }

    private static String execOne(Containerizer containerizer, String id, JsonNode hook, String state) {
        ExecConfig.Builder exec = ExecConfig.newBuilder().addCommand(hook.get("path").asText()).setInteractive(true);
        JsonNode args = hook.path("args");
        for (int i = 1; i < args.size(); i++) {
            exec.addCommand(args.get(i).asText());
        }
        for (JsonNode e : hook.path("env")) {
            String[] pair = e.asText().split("=", 2);
            exec.addEnv(EnvVar.newBuilder().setName(pair[0]).setValue(pair.length > 1 ? pair[1] : ""));
        }
        String execId = containerizer.execCreate(id, exec.build()).getId();
        var output = new HookOutput();
        int[] status = {-1};
        try (StdioChannel stdio = containerizer.execStart(id, execId)) {
            stdio.write(StdioFrame.stdin(state.getBytes(StandardCharsets.UTF_8)));
            stdio.write(StdioFrame.stdinClose());
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    for (StdioFrame f; (f = stdio.read()) != null; ) {
                        if (f.type() == StdioFrame.Type.EXIT) {
                            status[0] = f.exitStatus();
                            return;
                        }
                        output.keep(f.payload(), f.payload().length);
                    }
                } catch (IOException e) {
                    // detached: the status stays unknown
                }
            });
            long timeout = hook.path("timeout").asLong(DEFAULT_TIMEOUT_SECONDS);
            if (!reader.join(Duration.ofSeconds(timeout))) {
                // the caller destroys the container, and the hook with it
                return "ran past its timeout of " + timeout + " s" + output.quoted();
            }
            return status[0] == 0 ? null : "exited " + status[0] + output.quoted();
        } catch (IOException e) {
            return "could not run: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "was interrupted";
        }
    }
}
