package dev.vessel.node.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code vessel rmi}: forgets images; their blobs go at the next {@code gc}. */
@Command(name = "rmi", mixinStandardHelpOptions = true, description = "Remove images (their unused blobs are freed by `vessel gc`).")
final class RmiCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Parameters(paramLabel = "REF", arity = "1..*")
    private List<String> refs;

    @Override
    public Integer call() {
        VesselClient client = vessel.client();
        for (String ref : refs) {
            vessel.out.println("Removed " + client.call("DELETE", "/v1/images/" + Paths.segment(ref), null)
                    .path("removed").asText(ref));
        }
        return 0;
    }
}
