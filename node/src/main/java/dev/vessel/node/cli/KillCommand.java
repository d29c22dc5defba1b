package dev.vessel.node.cli;

import dev.vessel.linux.Signals;
import java.util.List;
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
        return Signals.parse(text).orElseThrow(() -> new CommandLine.ParameterException(spec.commandLine(),
                "--signal: '" + text + "' is not a signal: give " + Signals.accepted()));
    }
}
