package dev.vessel.node.cli;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code vessel kill}: sends a signal (SIGKILL by default, as docker kill) to containers' tasks. */
@Command(name = "kill", mixinStandardHelpOptions = true, description = "Send a signal to containers' tasks (default KILL).")
final class KillCommand implements Callable<Integer> {
    /** Linux x86-64/arm64 numbers of the signals people send by name. */
    private static final Map<String, Integer> SIGNALS = Map.ofEntries(Map.entry("HUP", 1), Map.entry("INT", 2),
            Map.entry("QUIT", 3), Map.entry("KILL", 9), Map.entry("USR1", 10), Map.entry("USR2", 12),
            Map.entry("TERM", 15), Map.entry("CONT", 18), Map.entry("STOP", 19), Map.entry("WINCH", 28));

    @ParentCommand
    private Vessel vessel;
    @Spec
    private CommandLine.Model.CommandSpec spec;
    @Option(names = {"-s", "--signal"}, paramLabel = "SIGNAL", defaultValue = "KILL",
            description = "a name (TERM, SIGKILL…) or a number")
    private String signal;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() {
        int number = number(signal);
        VesselClient client = vessel.client();
        for (String id : ids) {
            client.call("POST", "/v1/containers/" + Paths.segment(id) + "/kill?signal=" + number, "");
            vessel.out.println(id);
        }
        return 0;
    }

    private int number(String text) {
        String name = text.toUpperCase(Locale.ROOT);
        name = name.startsWith("SIG") ? name.substring(3) : name;
        Integer known = SIGNALS.get(name);
        if (known != null) {
            return known;
        }
        try {
            int n = Integer.parseInt(text);
            if (n >= 1 && n <= 64) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new CommandLine.ParameterException(spec.commandLine(), "--signal: '" + text
                + "' is not a signal (a number 1-64 or one of " + String.join(", ", SIGNALS.keySet().stream().sorted().toList()) + ")");
    }
}
