package dev.vessel.node.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code vessel restart}: a stop, then a start, of each container. */
@Command(name = "restart", mixinStandardHelpOptions = true, description = "Stop containers as stop does (an ended"
        + " one is fine), then start them again.")
final class RestartCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Mixin
    private StopTimeoutOption timeout;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() {
        return vessel.eachContainer(ids, "POST", "/restart" + timeout.query());
    }
}
