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
        VesselClient client = vessel.client();
        int failed = 0;
        for (String id : ids) {
            try { // like docker rm: one refusal does not stop the others
                client.call("DELETE", "/v1/containers/" + Paths.segment(id) + (force ? "?force=1" : ""), null);
                vessel.out.println(id);
            } catch (CliFailure e) {
                vessel.err.println("vessel: " + e.getMessage());
                failed++;
            }
        }
        return failed == 0 ? 0 : CliFailure.EXIT_CODE;
    }
}
