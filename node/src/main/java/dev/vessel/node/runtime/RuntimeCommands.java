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
            usage: vessel-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND
            commands: create, start, run, exec, state, kill, delete, list, features, spec
            not yet implemented: ps, pause, resume, update, checkpoint, restore, events""";
    private static final Set<String> NOT_IMPLEMENTED = Set.of("ps", "pause", "resume", "update", "checkpoint",
            "restore", "events");

    private final DaemonLink daemon;
    /** The global flags a shim is given: the root, and where errors are logged. */
    private final List<String> shimFlags;

    RuntimeCommands(DaemonLink daemon, List<String> shimFlags) {
        this.daemon = daemon;
        this.shimFlags = shimFlags;
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
            default -> throw new RuntimeFailure(NOT_IMPLEMENTED.contains(command)
                    ? "\"" + command + "\" is not implemented by vessel-runtime yet"
                    : "no such command: " + command + "\n" + USAGE);
        };
    }

    /** {@code create --bundle DIR [--pid-file F] ID}; leaves a {@link Shim} as the container's process. */
    private int create(List<String> words) throws IOException, InterruptedException {
        Args args = createArgs("create", words);
        String id = args.positional.getFirst();
        createContainer(id, args);
        return Shim.detached(shimFlags, pidFile(args), shim(args, "shim", id));
    }

    /**
     * {@code run [--detach] --bundle DIR ID}: create and start; in the foreground, relays (a shim attached
     * before the start, as this process's child), exits as the program did and removes it.
     */
    private int runContainer(List<String> words) throws IOException, InterruptedException {
        Args args = createArgs("run", words);
        String id = args.positional.getFirst();
        createContainer(id, args);
        if (args.has("detach")) {
            if (Shim.detached(shimFlags, pidFile(args), shim(args, "shim", id)) != 0) {
                return 1;
            }
            daemon.call("POST", "/v1/oci/containers/" + id + "/start", null);
            return 0;
        }
        writePidFile(args, ProcessHandle.current().pid());
        int code = Shim.foreground(shimFlags, shim(args, "shim", "--start", id));
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

    private void createContainer(String id, Args args) {
        Path bundle = Path.of(args.value("bundle", ".")).toAbsolutePath().normalize();
        daemon.ensureRunning();
        daemon.call("POST", "/v1/oci/containers", "{\"id\":" + JsonFields.quote(id) + ",\"bundle\":"
                + JsonFields.quote(bundle.toString()) + (args.has("console-socket") ? ",\"console_socket\":true}"
                        : stdinIsOpen() ? ",\"interactive\":true}" : "}"));
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
        String execId = JsonFields.string(daemon.call("POST", "/v1/oci/containers/" + id + "/exec", body), "id");
        if (args.has("detach")) {
            return Shim.detached(shimFlags, pidFile(args), shim(args, "exec-shim", id, execId));
        }
        writePidFile(args, ProcessHandle.current().pid());
        return Shim.foreground(shimFlags, shim(args, "exec-shim", id, execId));
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
