package dev.vessel.node.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.time.Duration;
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
 * the path resolved in the container's root; one that fails fails the start.
 */
public final class OciHooks {
    private static final System.Logger LOG = System.getLogger(OciHooks.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The hooks a container carries, as the bundle gave them. */
    static final String HOOKS_LABEL = "dev.vessel.oci.hooks";
    static final Set<String> RUN = Set.of("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
            "poststop");
    /** Those run during create, in this order; the first that fails fails the create. */
    public static final List<String> CREATE = List.of("prestart", "createRuntime", "createContainer");
    /** The namespaces a createContainer hook joins when the task's differs from vesseld's (nsenter orders them). */
    private static final List<String> JOINED = List.of("user", "uts", "ipc", "net", "pid", "cgroup");
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
        for (JsonNode hook : hooks(config, phase)) {
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
            List<JsonNode> hooks = hooks(config, phase);
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
        var output = OutputTail.of(p);
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

    /**
     * Runs the container's hooks of {@code phase} inside it, as execs of its CREATED task (its namespaces,
     * cgroups and user; {@code path} resolved in its root file system; {@code env} added to its environment),
     * each with {@code state} on stdin; the first that fails throws naming its JSON path.
     */
    public static void runInside(String phase, Containerizer containerizer, ContainerConfig config, String state) {
        List<JsonNode> hooks = hooks(config, phase);
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
        var output = new OutputTail();
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

    /** The last bytes a hook wrote (stdout and stderr). */
    private static final class OutputTail {
        private final byte[] tail = new byte[OUTPUT_QUOTED];
        private int length;

        /** Reads {@code p}'s output on a thread of its own, so that a hook writing much never blocks. */
        static OutputTail of(Process p) {
            var tail = new OutputTail();
            tail.reader = Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[8192];
                try (var out = p.getInputStream()) {
                    for (int n; (n = out.read(buf)) >= 0; ) {
                        tail.keep(buf, n);
                    }
                } catch (IOException e) {
                    // the hook was killed
                }
            });
            return tail;
        }

        private Thread reader;

        synchronized void keep(byte[] buf, int n) {
            int from = Math.max(0, n - tail.length);
            int take = n - from;
            int shift = Math.min(length, tail.length - take);
            System.arraycopy(tail, length - shift, tail, 0, shift);
            System.arraycopy(buf, from, tail, shift, take);
            length = shift + take;
        }

        /** {@code : OUTPUT} once the output closed (a child the hook left holding it is not waited for long). */
        String quoted() throws InterruptedException {
            if (reader != null) {
                reader.join(Duration.ofSeconds(1));
            }
            String text;
            synchronized (this) {
                text = new String(tail, 0, length, StandardCharsets.UTF_8).strip();
            }
            return text.isEmpty() ? "" : ": " + text;
        }
    }
}
