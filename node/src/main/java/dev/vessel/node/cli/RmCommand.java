package dev.vessel.node.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code vessel rm}: removes ended containers; {@code -f} destroys running ones first. */
@Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove containers (-f: destroy running ones first).")
final class RmCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Option(names = {"-f", "--force"}, description = "destroy a running container instead of refusing")
    private boolean force;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() {
        return vessel.eachContainer(ids, "DELETE", force ? "?force=1" : "");
    }
}
