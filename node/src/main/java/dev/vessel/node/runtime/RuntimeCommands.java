package dev.vessel.node.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One method per runc command; each is a call or two to vesseld, which does the work. */
final class RuntimeCommands {
    static final String OCI_VERSION = "1.0.2";
    static final String USAGE = """
            usage: vessel-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--vm] COMMAND
            commands: create, start, run, exec, state, kill, delete, list, ps, pause, resume, update, events,
              features, spec
            not yet implemented: checkpoint, restore""";
    private static final Set<String> NOT_IMPLEMENTED = Set.of("checkpoint", "restore");

    private final DaemonLink daemon;
    /** The global flags a shim is given: the root, and where errors are logged. */
    private final List<String> shimFlags;
    /** {@code --vm}: a bundle without the isolation annotation runs in a VM of its own. */
    private final boolean vm;

    RuntimeCommands(DaemonLink daemon, List<String> shimFlags, boolean vm) {
        this.daemon = daemon;
        this.shimFlags = shimFlags;
        this.vm = vm;
    }

    int run(String command, List<String> words) throws IOException, InterruptedException {
        return switch (command) {
            case "create" -> create(words);
            case "start" -> start(words);
            case "run" -> runContainer(words);
            case "state" -> state(words);
            case "kill" -> kill(words);
            case "delete" -> delete(words);
            case "list" -> list(words);
            case "features" -> print("features.json");
            case "spec" -> spec(words);
            case "exec" -> exec(words);
            case "pause" -> pause(words);
            case "resume" -> resume(words);
            case "ps" -> ps(words);
            case "update" -> update(words);
            case "events" -> events(words);
            default -> throw new RuntimeFailure(NOT_IMPLEMENTED.contains(command)
                    ? "\"" + command + "\" is not implemented by vessel-runtime yet"
                    : "no such command: " + command + "\n" + USAGE);
        };
    }

    /** {@code create --bundle DIR [--pid-file F] ID}; leaves a {@link Shim} as the container's process. */
    private int create(List<String> words) throws IOException, InterruptedException {
        Args args = createArgs("create", words);
        String id = args.positional.getFirst();
        createContainer(id, args, false);
        return Shim.detached(shimFlags, pidFile(args), shim(args, "shim", id));
    }

    /**
     * {@code run [--detach] --bundle DIR ID}: create and start; in the foreground, relays (a shim attached
     * before the start, as this process's child), exits as the program did and removes it.
     */
    private int runContainer(List<String> words) throws IOException, InterruptedException {
        Args args = createArgs("run", words);
        String id = args.positional.getFirst();
        boolean terminal = createContainer(id, args, !args.has("detach"));
        if (args.has("detach")) {
            if (Shim.detached(shimFlags, pidFile(args), shim(args, "shim", id)) != 0) {
                return 1;
            }
            daemon.call("POST", "/v1/oci/containers/" + id + "/start", null);
            return 0;
        }
        writePidFile(args, ProcessHandle.current().pid());
        int code = Shim.foreground(shimFlags, terminal && !args.has("console-socket")
                ? shim(args, "shim", "--start", "--tty", id) : shim(args, "shim", "--start", id));
        daemon.call("DELETE", "/v1/oci/containers/" + id + "?force=1", null);
        return code;
    }

    private static Args createArgs(String command, List<String> words) {
        Args args = Args.parse(words, Set.of("bundle", "pid-file", "console-socket", "preserve-fds"),
                Set.of("no-pivot", "no-new-keyring", "detach", "keep"), Map.of("b", "bundle", "d", "detach"), false);
        args.positional(command, 1, "[--bundle DIR] [--pid-file FILE] ID");
        if (!args.value("preserve-fds", "0").equals("0")) {
            throw new RuntimeFailure("--preserve-fds is not supported: a Vessel task gets stdin, stdout and stderr only");
        }
        if (args.has("no-pivot")) {
            throw new RuntimeFailure("--no-pivot is not supported: Vessel always pivots into the root file system");
        }
        return args;
    }

    /**
     * The container CREATED; whether its process has a terminal. {@code foreground}: a terminal without a console
     * socket is relayed on this process's own stdio, as runc's {@code run} does on the user's terminal.
     */
    private boolean createContainer(String id, Args args, boolean foreground) {
        Path bundle = Path.of(args.value("bundle", ".")).toAbsolutePath().normalize();
        daemon.ensureRunning();
        String state = daemon.call("POST", "/v1/oci/containers", "{\"id\":" + JsonFields.quote(id) + ",\"bundle\":"
                + JsonFields.quote(bundle.toString()) + (vm ? ",\"isolation\":\"vm\"" : "")
                + (foreground ? ",\"terminal_stdio\":true" : "")
                + (args.has("console-socket") ? ",\"console_socket\":true}" : stdinIsOpen() ? ",\"interactive\":true}" : "}"));
        return state.contains("\"terminal\":true");
    }

    /** A shim's command line: {@code --console-socket S} (made absolute: a detached shim works from /) before the ids. */
    private static String[] shim(Args args, String command, String... rest) {
        List<String> words = new ArrayList<>(List.of(command));
        if (args.has("console-socket")) {
            words.addAll(List.of("--console-socket", Path.of(args.value("console-socket", "")).toAbsolutePath().toString()));
        }
        words.addAll(List.of(rest));
        return words.toArray(String[]::new);
    }

    /**
     * Whether the caller gave a stdin to forward (the task's stdin is then kept open for the shim): not
     * /dev/null, which engines give a container without {@code -i}.
     */
    static boolean stdinIsOpen() {
        try {
            return !Files.readSymbolicLink(Path.of("/proc/self/fd/0")).toString().equals("/dev/null");
        } catch (IOException e) {
            return false; // closed
        }
    }

    private static String pidFile(Args args) {
        return args.has("pid-file") ? Path.of(args.value("pid-file", "")).toAbsolutePath().toString() : null;
    }

    /** Written whole, then renamed into place: an engine may read it as soon as it exists. */
    private static void writePidFile(Args args, long pid) throws IOException {
        if (!args.has("pid-file")) {
            return;
        }
        Path file = Path.of(args.value("pid-file", "")).toAbsolutePath();
        Path temporary = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(temporary, Long.toString(pid), StandardCharsets.US_ASCII);
        Files.move(temporary, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * {@code exec [--process FILE] [--detach] [--pid-file F] ID [COMMAND…]}: a process in the running container
     * (vesseld's exec). A shim starts it and relays its stdio: in the foreground as this process's child, whose
     * exit status is this one's; detached, left in its place (its pid in the pid file) with the engine's descriptors.
     */
    private int exec(List<String> words) throws IOException, InterruptedException {
        Args args = Args.parse(words, Set.of("process", "pid-file", "console-socket", "preserve-fds"),
                Set.of("detach", "tty"), Map.of("d", "detach", "t", "tty", "p", "process"), true);
        if (args.positional.isEmpty()) {
            throw new RuntimeFailure("\"exec\" requires a container ID: vessel-runtime exec [--process FILE]"
                    + " [--detach] [--pid-file FILE] ID [COMMAND...]");
        }
        if (!args.value("preserve-fds", "0").equals("0")) {
            throw new RuntimeFailure("--preserve-fds is not supported: a Vessel exec gets stdin, stdout and stderr only");
        }
        String id = args.positional.getFirst();
        List<String> command = args.positional.subList(1, args.positional.size());
        String body;
        // where its stdio goes: a console socket for a terminal, a stdin to forward
        String stdio = (args.has("console-socket") ? ",\"console_socket\":true" : "")
                + (args.has("detach") ? "" : ",\"terminal_stdio\":true")
                + (stdinIsOpen() ? ",\"interactive\":true" : "");
        if (args.has("process")) {
            if (!command.isEmpty()) {
                throw new RuntimeFailure("exec: give either --process or a command, not both");
            }
            body = "{\"process\":" + Files.readString(Path.of(args.value("process", ""))) + stdio + "}";
        } else if (command.isEmpty()) {
            throw new RuntimeFailure("exec: no command given (--process FILE or ID COMMAND...)");
        } else {
            body = "{\"args\":[" + String.join(",", command.stream().map(JsonFields::quote).toList()) + "]" + stdio
                    + (args.has("tty") ? ",\"tty\":true}" : "}");
        }
        requireDaemon();
        String created = daemon.call("POST", "/v1/oci/containers/" + id + "/exec", body);
        String execId = JsonFields.string(created, "id");
        if (args.has("detach")) {
            return Shim.detached(shimFlags, pidFile(args), shim(args, "exec-shim", id, execId));
        }
        writePidFile(args, ProcessHandle.current().pid());
        boolean terminal = created.contains("\"tty\":true") && !args.has("console-socket");
        return Shim.foreground(shimFlags, terminal ? shim(args, "exec-shim", "--tty", id, execId)
                : shim(args, "exec-shim", id, execId));
    }

    private int start(List<String> words) {
        String id = existing("start", words, Set.of()).positional.getFirst();
        daemon.call("POST", "/v1/oci/containers/" + id + "/start", null);
        return 0;
    }

    private int state(List<String> words) {
        String id = existing("state", words, Set.of()).positional.getFirst();
        System.out.println(daemon.call("GET", "/v1/oci/containers/" + id, null));
        return 0;
    }

    /**
     * {@code kill ID [SIGNAL]} (SIGTERM by default) signals the container's first process. {@code --all} is
     * taken as runc's, signalling every process, which Vessel's first process stands for: with its own pid
     * namespace, its death ends them all.
     */
    private int kill(List<String> words) {
        Args args = Args.parse(words, Set.of(), Set.of("all"), Map.of("a", "all"), false);
        if (args.positional.isEmpty() || args.positional.size() > 2) {
            throw new RuntimeFailure("\"kill\" requires 1 or 2 arguments: vessel-runtime kill [--all] ID [SIGNAL]");
        }
        int signal = Signals.parse(args.positional.size() == 2 ? args.positional.get(1) : "TERM");
        String id = args.positional.getFirst();
        requireDaemon();
        try {
            daemon.call("POST", "/v1/containers/" + id + "/kill?signal=" + signal, null);
        } catch (RuntimeFailure e) {
            throw e.getMessage().contains("is TERMINATED") || e.getMessage().contains("is DESTROYING")
                    ? new RuntimeFailure("container not running") : e;
        }
        return 0;
    }

    /** As runc: a forced delete of a container that does not exist is done (containerd's shim forces one after each delete). */
    private int delete(List<String> words) {
        Args args = one("delete", words, Set.of("force"));
        String id = args.positional.getFirst();
        try {
            requireDaemon();
            daemon.call("DELETE", "/v1/oci/containers/" + id + (args.has("force") ? "?force=1" : ""), null);
        } catch (RuntimeFailure e) {
            if (!(args.has("force") && e.getMessage().equals("container does not exist"))) {
                throw e;
            }
        }
        return 0;
    }

    private int list(List<String> words) {
        Args args = Args.parse(words, Set.of("format"), Set.of("quiet"), Map.of("f", "format", "q", "quiet"), false);
        String format = args.value("format", "table");
        if (!format.equals("table") && !format.equals("json")) {
            throw new RuntimeFailure("invalid format option " + JsonFields.quote(format) + ": table or json");
        }
        if (!daemon.answers() && !daemon.everStarted()) {
            System.out.print(format.equals("json") ? "null\n" : args.has("quiet") ? "" : "ID PID STATUS BUNDLE CREATED OWNER\n");
            return 0;
        }
        daemon.ensureRunning();
        String answer = daemon.call("GET", "/v1/oci/containers?format=" + format, null);
        if (args.has("quiet")) {
            answer.lines().skip(1).map(l -> l.split(" ", 2)[0]).forEach(System.out::println);
        } else {
            System.out.print(format.equals("json") ? answer + "\n" : answer);
        }
        return 0;
    }

    /** {@code spec [--bundle DIR]}: a config.json that vessel-runtime runs as it is, given a rootfs/. */
    private int spec(List<String> words) throws IOException {
        Args args = Args.parse(words, Set.of("bundle"), Set.of("rootless"), Map.of("b", "bundle"), false);
        if (args.has("rootless")) {
            throw new RuntimeFailure("--rootless is not supported: vessel-runtime runs as root");
        }
        Path config = Path.of(args.value("bundle", ".")).resolve("config.json");
        try (InputStream spec = resource("spec.json")) {
            Files.write(config, spec.readAllBytes(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            throw new RuntimeFailure("File " + config + " exists. Remove it first");
        }
        return 0;
    }

    private static int print(String resourceName) throws IOException {
        try (InputStream in = resource(resourceName)) {
            System.out.write(in.readAllBytes());
            System.out.flush();
        }
        return 0;
    }

    private static InputStream resource(String name) {
        return RuntimeCommands.class.getResourceAsStream(name);
    }

    /** {@code pause ID}: its processes frozen (the cgroup freezer) until {@code resume}. */
    private int pause(List<String> words) {
        String id = existing("pause", words, Set.of()).positional.getFirst();
        daemonCall("POST", "/v1/containers/" + id + "/pause", null);
        return 0;
    }

    private int resume(List<String> words) {
        String id = existing("resume", words, Set.of()).positional.getFirst();
        daemonCall("POST", "/v1/containers/" + id + "/resume", null);
        return 0;
    }

    /** A call whose refusal for the container's state is said as runc says it. */
    private String daemonCall(String method, String path, String body) {
        try {
            return daemon.call(method, path, body);
        } catch (RuntimeFailure e) {
            String message = e.getMessage();
            throw message.endsWith(", not RUNNING") ? new RuntimeFailure("container not running")
                    : message.endsWith(", not PAUSED") ? new RuntimeFailure("container not paused") : e;
        }
    }

    /**
     * {@code ps [--format table|json] ID [PS-ARGS…]}, as runc: json is the array of the host pids in the
     * container's cgroups; table is the host's {@code ps} (with {@code -ef}, or the arguments given) showing
     * only those pids.
     */
    private int ps(List<String> words) throws IOException, InterruptedException {
        Args args = Args.parse(words, Set.of("format"), Set.of(), Map.of("f", "format"), true);
        if (args.positional.isEmpty()) {
            throw new RuntimeFailure("\"ps\" requires a container ID: vessel-runtime ps [--format table|json] ID"
                    + " [PS-ARGS...]");
        }
        String format = args.value("format", "table");
        if (!format.equals("table") && !format.equals("json")) {
            throw new RuntimeFailure("invalid format option " + JsonFields.quote(format) + ": table or json");
        }
        String id = args.positional.getFirst();
        List<String> psArgs = new java.util.ArrayList<>(args.positional.subList(1, args.positional.size()));
        if (!psArgs.isEmpty() && psArgs.getFirst().equals("--")) {
            psArgs.removeFirst();
        }
        requireDaemon();
        String pids = daemonCall("GET", "/v1/containers/" + id + "/top", null).replaceAll("^\\{\"pids\":|}$", "");
        if (format.equals("json")) {
            if (!psArgs.isEmpty()) {
                throw new RuntimeFailure("ps arguments are not allowed with --format json");
            }
            System.out.println(pids);
            return 0;
        }
        Set<String> ours = Set.of(pids.replaceAll("[\\[\\]\\s]", "").split(","));
        List<String> command = new java.util.ArrayList<>(List.of("ps"));
        command.addAll(psArgs.isEmpty() ? List.of("-ef") : psArgs);
        Process ps = new ProcessBuilder(command).redirectErrorStream(true).start();
        List<String> lines = new String(ps.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        if (ps.waitFor() != 0 || lines.isEmpty()) {
            throw new RuntimeFailure(String.join(" ", command) + " failed: " + String.join("\n", lines));
        }
        int column = List.of(lines.getFirst().trim().split("\\s+")).indexOf("PID");
        if (column < 0) {
            throw new RuntimeFailure("couldn't find PID field in ps output");
        }
        StringBuilder out = new StringBuilder(lines.getFirst()).append('\n');
        for (String line : lines.subList(1, lines.size())) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length > column && ours.contains(fields[column])) {
                out.append(line).append('\n');
            }
        }
        System.out.print(out);
        return 0;
    }

    /**
     * {@code update [FLAGS] ID} with runc's flags, or {@code --resources FILE} ({@code -} for stdin): an OCI
     * {@code linux.resources} object, which then stands alone (runc ignores the flags). Only the limits given
     * change; vesseld refuses, naming the field, what it cannot apply, and then changes nothing.
     */
    private int update(List<String> words) throws IOException {
        Set<String> numbers = Set.of("memory", "memory-swap", "memory-reservation", "cpu-shares", "cpu-quota",
                "cpu-period", "pids-limit");
        Set<String> valued = new java.util.HashSet<>(numbers);
        valued.addAll(Set.of("cpuset-cpus", "cpuset-mems", "resources"));
        Args args = Args.parse(words, valued, Set.of(), Map.of("r", "resources"), false);
        String id = args.positional("update", 1, "[--memory N] [--memory-swap N] [--memory-reservation N]"
                + " [--cpu-shares N] [--cpu-quota N]"
                + " [--cpu-period N] [--cpuset-cpus S] [--pids-limit N] [--resources FILE] ID").getFirst();
        String body;
        if (args.has("resources")) {
            String file = args.value("resources", "");
            body = file.equals("-") ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
                    : Files.readString(Path.of(file));
        } else {
            Map<String, Long> value = new java.util.HashMap<>();
            for (String flag : numbers) {
                if (args.has(flag)) {
                    value.put(flag, flag.startsWith("memory") ? bytes(flag, args.value(flag, ""))
                            : integer(flag, args.value(flag, "")));
                }
            }
            StringBuilder memory = new StringBuilder();
            member(memory, "limit", value.get("memory"));
            member(memory, "swap", value.get("memory-swap"));
            member(memory, "reservation", value.get("memory-reservation"));
            StringBuilder cpu = new StringBuilder();
            member(cpu, "shares", value.get("cpu-shares"));
            member(cpu, "quota", value.get("cpu-quota"));
            member(cpu, "period", value.get("cpu-period"));
            if (args.has("cpuset-cpus")) {
                cpu.append(cpu.isEmpty() ? "" : ",").append("\"cpus\":").append(JsonFields.quote(args.value("cpuset-cpus", "")));
            }
            if (args.has("cpuset-mems")) {
                cpu.append(cpu.isEmpty() ? "" : ",").append("\"mems\":").append(JsonFields.quote(args.value("cpuset-mems", "")));
            }
            StringBuilder pids = new StringBuilder();
            member(pids, "limit", value.get("pids-limit"));
            body = "{\"memory\":{" + memory + "},\"cpu\":{" + cpu + "},\"pids\":{" + pids + "}}";
        }
        requireDaemon();
        daemonCall("POST", "/v1/oci/containers/" + id + "/update", body);
        return 0;
    }

    /**
     * {@code events [--stats] [--interval D] ID}: runc's stats event (one line of JSON), once with {@code --stats},
     * else every interval (5 s by default) until the container no longer runs. Vessel has no other events
     * for it to report (runc's are stats and OOM; an OOM ends a Vessel container, which {@code state} shows).
     */
    private int events(List<String> words) throws InterruptedException {
        Args args = Args.parse(words, Set.of("interval"), Set.of("stats"), Map.of(), false);
        String id = args.positional("events", 1, "[--stats] [--interval DURATION] ID").getFirst();
        long interval = millis(args.value("interval", "5s"));
        requireDaemon();
        while (true) {
            String event;
            try {
                event = daemonCall("GET", "/v1/oci/containers/" + id + "/stats", null);
            } catch (RuntimeFailure e) {
                if (!args.has("stats") && e.getMessage().equals("container not running")) {
                    return 0; // it ended: the stream ends with it
                }
                throw e;
            }
            System.out.println(event);
            if (args.has("stats")) {
                return 0;
            }
            Thread.sleep(interval);
        }
    }

    /** A Go duration as runc takes it, of one unit: {@code 500ms}, {@code 5s}, {@code 1m}. */
    private static long millis(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m)").matcher(text);
        if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
            throw new RuntimeFailure("invalid value for --interval: " + JsonFields.quote(text)
                    + " (a duration above zero: 500ms, 5s, 1m)");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> n;
            case "s" -> n * 1000;
            default -> n * 60_000;
        };
    }

    private static void member(StringBuilder object, String name, Long value) {
        if (value != null) {
            object.append(object.isEmpty() ? "" : ",").append('"').append(name).append("\":").append(value);
        }
    }

    private static long integer(String flag, String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new RuntimeFailure("invalid value for --" + flag + ": " + JsonFields.quote(text) + " is not an integer");
        }
    }

    /** A size as runc takes it: bytes, or a number with b, k, m, g or t (powers of 1024); -1 for unlimited. */
    static long bytes(String flag, String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)(-1|\\d+(?:\\.\\d+)?)\\s*([kmgt]?)(i?b)?")
                .matcher(text.trim());
        if (!m.matches()) {
            throw new RuntimeFailure("invalid value for --" + flag + ": " + JsonFields.quote(text) + " is not a size");
        }
        if (m.group(1).equals("-1")) {
            return -1;
        }
        int power = "kmgt".indexOf(m.group(2).toLowerCase(java.util.Locale.ROOT)) + 1;
        return (long) (Double.parseDouble(m.group(1)) * Math.pow(1024, power));
    }

    /** One ID, of a container on a daemon that runs now. */
    private Args existing(String command, List<String> words, Set<String> flags) {
        Args args = one(command, words, flags);
        requireDaemon();
        return args;
    }

    /** A root no daemon ever served has no containers, and none is started to say so. */
    private void requireDaemon() {
        if (!daemon.answers() && !daemon.everStarted()) {
            throw new RuntimeFailure("container does not exist");
        }
        daemon.ensureRunning();
    }

    private static Args one(String command, List<String> words, Set<String> flags) {
        Args args = Args.parse(words, Set.of(), flags, Map.of("f", "force"), false);
        args.positional(command, 1, "ID");
        return args;
    }
}
