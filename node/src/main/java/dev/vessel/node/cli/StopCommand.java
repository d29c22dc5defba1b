package dev.vessel.node.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code vessel stop}: each container's stop signal, SIGKILL after the timeout; returns once they have ended. */
@Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop containers: their stop signal (SIGTERM"
        + " unless the image or run names another), then SIGKILL after the timeout. An ended container is fine.")
final class StopCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Mixin
    private StopTimeoutOption timeout;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() {
        return vessel.eachContainer(ids, "POST", "/stop" + timeout.query());
    }
}
