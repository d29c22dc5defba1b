package dev.vessel.node.cli;

import dev.vessel.linux.RawTerminal;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vessel}: the command-line client of vesseld, shaped like docker's. Every subcommand talks to the
 * daemon's HTTP API; failures of the CLI or the daemon exit 125, a foreground {@code run} exits with its task's code.
 */
@Command(name = "vessel", mixinStandardHelpOptions = true, version = Vessel.VERSION,
        description = "Run and manage containers and VM tasks on a Vessel node.")
public final class Vessel implements Runnable {
    static final String VERSION = "vessel (Vessel node runtime)";

    /**
     * The subcommands by name, in the order of the help. picocli reads every registered command's
     * annotations when the command line is built, a large part of a command's start-up: only the one
     * that runs is registered (see {@link #needed}).
     */
    private static final Map<String, Class<?>> SUBCOMMANDS = subcommands(RunCommand.class, ExecCommand.class,
            AttachCommand.class, PsCommand.class,
            InspectCommand.class, LogsCommand.class, StopCommand.class, StartCommand.class, RestartCommand.class,
            KillCommand.class, PauseCommand.class, UnpauseCommand.class, TopCommand.class, UpdateCommand.class,
            HealthcheckCommand.class,
            WaitCommand.class, PortCommand.class, CpCommand.class, RenameCommand.class, RmCommand.class,
            PodCommand.class, VmCommand.class, NetworkCommand.class, VolumeCommand.class, PullCommand.class,
            ImagesCommand.class, RmiCommand.class, GcCommand.class, InfoCommand.class, LoginCommand.class,
            LogoutCommand.class, VersionCommand.class, StatsCommand.class, EventsCommand.class, SystemCommand.class,
            DaemonCommand.class);

    @Option(names = "--host", paramLabel = "URL", defaultValue = "${env:VESSEL_HOST:-" + VesselClient.DEFAULT_HOST + "}",
            description = "the daemon: unix:///PATH or tcp://127.0.0.1:PORT (default ${DEFAULT-VALUE})")
    private String host;
    @Option(names = "--token-file", paramLabel = "FILE", description = "bearer token for a tcp:// daemon")
    private Path tokenFile;
    @Spec
    private CommandLine.Model.CommandSpec spec;

    final PrintStream out;
    final PrintStream err;
    final InputStream in;
    /** Whether a person watches: progress bars then, plain lines for pipes and scripts. */
    final boolean terminal;
    /** The environment ($DOCKER_CONFIG, $HOME), given so that tests need not change the JVM's. */
    final Map<String, String> env;

    Vessel(PrintStream out, PrintStream err, InputStream in, boolean terminal, Map<String, String> env) {
        this.out = out;
        this.err = err;
        this.in = in;
        this.terminal = terminal;
        this.env = env;
    }

    public static void main(String[] args) {
        System.exit(execute(new Vessel(System.out, System.err, System.in, System.console() != null, System.getenv()), args));
    }

    static int execute(Vessel vessel, String... args) {
        try {
            Integer lean = new LeanCli(vessel.out, vessel.err, vessel.env).execute(args);
            if (lean != null) {
                return lean;
            }
        } catch (CliFailure e) {
            vessel.err.println("vessel: " + e.getMessage());
            return CliFailure.EXIT_CODE;
        }
        CommandLine cli = new CommandLine(vessel);
        for (Map.Entry<String, Class<?>> subcommand : needed(args).entrySet()) {
            cli.addSubcommand(subcommand.getKey(), subcommand.getValue());
        }
        // set after the subcommands are added: these settings reach only the subcommands present
        cli.setOut(new PrintWriter(vessel.out, true, StandardCharsets.UTF_8))
                .setErr(new PrintWriter(vessel.err, true, StandardCharsets.UTF_8))
                .setParameterExceptionHandler((e, a) -> {
                    vessel.err.println("vessel: " + e.getMessage());
                    vessel.err.println("See '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
                    return CliFailure.EXIT_CODE;
                })
                .setExecutionExceptionHandler((e, c, p) -> {
                    vessel.err.println("vessel: " + (e instanceof CliFailure ? e.getMessage() : "internal error: " + e));
                    return CliFailure.EXIT_CODE;
                });
        for (String name : List.of("run", "exec")) {
            CommandLine command = cli.getSubcommands().get(name);
            if (command != null) {
                // docker's rule: what follows the image (or container) is the command, options included
                command.setStopAtPositional(true);
            }
        }
        return cli.execute(args);
    }

    /** Every subcommand by name, for what describes the whole CLI (completion, man pages). */
    static Map<String, Class<?>> allSubcommands() {
        return SUBCOMMANDS;
    }

    private static Map<String, Class<?>> subcommands(Class<?>... commands) {
        Map<String, Class<?>> byName = new LinkedHashMap<>();
        for (Class<?> command : commands) {
            byName.put(command.getAnnotation(Command.class).name(), command);
        }
        return byName;
    }

    /**
     * The subcommand the words name (the first word that is neither a global option nor its value);
     * none for a bare {@code --version}; all of them otherwise: the help lists them, and picocli
     * reports anything else as it always did.
     */
    private static Map<String, Class<?>> needed(String... args) {
        boolean version = false;
        for (int i = 0; i < args.length; i++) {
            String word = args[i];
            if (word.equals("--host") || word.equals("--token-file")) {
                i++;
            } else if (word.equals("-V") || word.equals("--version")) {
                version = true;
            } else if (word.equals("-h") || word.equals("--help")) {
                return SUBCOMMANDS;
            } else if (!word.startsWith("-")) {
                Class<?> named = SUBCOMMANDS.get(word);
                return named == null ? SUBCOMMANDS : Map.of(word, named);
            }
        }
        return version ? Map.of() : SUBCOMMANDS;
    }

    /** Whether the CLI's stdin is a terminal a person types on (not a test's stream, a pipe or a file). */
    boolean stdinIsTerminal() {
        return in == System.in && RawTerminal.isTerminal(RawTerminal.STDIN);
    }

    VesselClient client() {
        return VesselClient.connect(host, tokenFile);
    }

    /**
     * One POST or DELETE per container, to its resource path and {@code action} (e.g. {@code "/stop?timeout=5"},
     * or "" for the container itself), each id printed once done. As docker's: one failure, reported, does not
     * stop the others; the exit code says whether any failed.
     */
    int eachContainer(List<String> ids, String method, String action) {
        VesselClient client = client();
        int failed = 0;
        for (String id : ids) {
            try {
                client.call(method, "/v1/containers/" + Paths.segment(id) + action, method.equals("DELETE") ? null : "");
                out.println(id);
            } catch (CliFailure e) {
                err.println("vessel: " + e.getMessage());
                failed++;
            }
        }
        return failed == 0 ? 0 : CliFailure.EXIT_CODE;
    }

    @Override
    public void run() {
        spec.commandLine().usage(out);
    }
}
