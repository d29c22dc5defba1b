package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code vessel wait ID…}: blocks until each container has ended and prints its exit code (128+N for signal N),
 * one line per container in the order given, as podman's. One that cannot be waited for is reported and the
 * others still are; the exit code then says so.
 */
@Command(name = "wait", mixinStandardHelpOptions = true, description = "Wait for containers to end and print their"
        + " exit codes.")
final class WaitCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() {
        VesselClient client = vessel.client();
        int failed = 0;
        for (String id : ids) {
            try {
                JsonNode termination = client.call("POST", "/v1/containers/" + Paths.segment(id) + "/wait", "");
                vessel.out.println(RunCommand.exitCode(id, termination));
            } catch (CliFailure e) {
                vessel.err.println("vessel: " + e.getMessage());
                failed++;
            }
        }
        return failed == 0 ? 0 : CliFailure.EXIT_CODE;
    }
}
