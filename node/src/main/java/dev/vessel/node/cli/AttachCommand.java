package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code vessel attach}: joins a running container's stdio; Ctrl-P Ctrl-Q (with a terminal) detaches and leaves it running. */
@Command(name = "attach", mixinStandardHelpOptions = true, description = "Attach to a running container's stdio (its"
        + " terminal, if it has one): what it prints from now on, what is typed if it was run with -i. Ctrl-P Ctrl-Q"
        + " detaches and leaves it running; once it ends the CLI exits with its exit code.")
final class AttachCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Option(names = "--no-stdin", description = "do not send what is typed (only watch)")
    private boolean noStdin;
    @Mixin
    private DetachKeys detachKeys = new DetachKeys();
    @Parameters(paramLabel = "CONTAINER")
    private String container;

    @Override
    public Integer call() throws IOException, InterruptedException {
        VesselClient client = vessel.client();
        String path = "/v1/containers/" + Paths.segment(container);
        JsonNode config = client.call("GET", path, null).path("config");
        boolean interactive = config.path("interactive").asBoolean() && !noStdin;
        StdioSession.Result result = Attached.run(vessel, client.upgrade("POST", path + "/attach"),
                config.path("tty").asBoolean(), interactive, detachKeys,
                () -> { });
        return switch (result.end()) {
            case EXITED -> result.status();
            case DETACHED -> 0;
            case CLOSED -> RunCommand.exitCode(container, client.call("POST", path + "/wait", ""));
        };
    }
}
