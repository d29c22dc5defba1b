package dev.vessel.node.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code vessel unpause} (podman's word): thaws paused containers. */
@Command(name = "unpause", mixinStandardHelpOptions = true, description = "Thaw paused containers.")
final class UnpauseCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() {
        VesselClient client = vessel.client();
        for (String id : ids) {
            client.call("POST", "/v1/containers/" + Paths.segment(id) + "/resume", "");
            vessel.out.println(id);
        }
        return 0;
    }
}
