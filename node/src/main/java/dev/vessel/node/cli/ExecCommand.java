package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code vessel exec}: runs a process inside a running container, attached (its exit code is the CLI's) or detached. */
@Command(name = "exec", mixinStandardHelpOptions = true, description = "Run a command in a running container: its"
        + " namespaces, cgroups, root filesystem, capabilities, seccomp filter and user. Attached, the CLI exits with"
        + " the command's exit code (128+N for signal N).")
final class ExecCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = {"-i", "--interactive"}, description = "keep stdin open: what the CLI reads goes to the command")
    private boolean interactive;
    @Option(names = {"-t", "--tty"}, description = "give the command a terminal (the local one goes raw while attached;"
            + " the detach keys (--detach-keys) detach)")
    private boolean tty;
    @Option(names = {"-d", "--detach"}, description = "start it and return at once")
    private boolean detach;
    @Option(names = {"-e", "--env"}, paramLabel = "NAME=VALUE", description = "set a variable; NAME alone takes the host's")
    private List<String> env = new ArrayList<>();
    @Option(names = {"-u", "--user"}, paramLabel = "USER", description = "uid[:gid] or name[:group] (default: the container's)")
    private String user;
    @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "the working directory, absolute (default:"
            + " the container's)")
    private String workdir;
    @Mixin
    private DetachKeys detachKeys = new DetachKeys();
    @Parameters(index = "0", paramLabel = "CONTAINER")
    private String container;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "CMD", description = "the program and its arguments")
    private List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws IOException, InterruptedException {
        ObjectNode body = CliJson.JSON.createObjectNode();
        ArrayNode argv = body.putArray("command");
        command.forEach(argv::add);
        ArrayNode vars = body.putArray("env");
        for (String e : env) {
            int eq = e.indexOf('=');
            if (eq == 0 || e.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--env: '" + e + "' must be NAME=VALUE");
            }
            String value = eq > 0 ? e.substring(eq + 1) : vessel.env.get(e);
            if (value != null) {
                vars.addObject().put("name", eq > 0 ? e.substring(0, eq) : e).put("value", value);
            }
        }
        if (user != null) {
            body.put("user", user);
        }
        if (workdir != null) {
            body.put("working_dir", workdir);
        }
        body.put("tty", tty).put("interactive", interactive);

        VesselClient client = vessel.client();
        String path = "/v1/containers/" + Paths.segment(container) + "/exec";
        String id = client.call("POST", path, body.toString()).get("id").asText();
        String exec = path + "/" + Paths.segment(id);
        if (detach) {
            client.call("POST", exec + "/start?detach=true", "");
            return 0;
        }
        StdioSession.Result result = Attached.run(vessel, client.upgrade("POST", exec + "/start"), tty, interactive,
                detachKeys, () -> { });
        return switch (result.end()) {
            case EXITED -> result.status();
            case DETACHED -> 0;
            case CLOSED -> ended(client.call("GET", exec, null));
        };
    }

    /** The exec's status once the connection closed before its EXIT came. */
    private static int ended(JsonNode status) {
        if (status.path("state").asText().equals("EXEC_EXITED")) {
            return status.path("exit_code").asInt();
        }
        throw new CliFailure("the connection to exec " + status.path("id").asText() + " closed while it ran");
    }
}
