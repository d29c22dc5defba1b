package dev.vessel.node.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code vessel inspect}: a container's status, configuration and usage as JSON. */
@Command(name = "inspect", mixinStandardHelpOptions = true, description = "Show containers' status, configuration and resource usage (JSON).")
final class InspectCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Option(names = "--json", description = "one compact JSON document per line, for scripts")
    private boolean json;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() throws JsonProcessingException {
        VesselClient client = vessel.client();
        for (String id : ids) {
            JsonNode c = client.call("GET", "/v1/containers/" + Paths.segment(id), null);
            CliJson.print(vessel.out, c, json);
        }
        return 0;
    }
}
