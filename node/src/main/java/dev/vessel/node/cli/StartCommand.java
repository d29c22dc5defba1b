package dev.vessel.node.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code vessel start}: runs ended containers again, each with its id and config; its logs go on. */
@Command(name = "start", mixinStandardHelpOptions = true, description = "Run ended containers again with the same"
        + " config (a fresh root filesystem from the image; logs appended to). Returns once they run.")
final class StartCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() {
        return vessel.eachContainer(ids, "POST", "/start");
    }
}
