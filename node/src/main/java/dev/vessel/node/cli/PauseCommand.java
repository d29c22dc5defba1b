package dev.vessel.node.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code vessel pause}: freezes every process of running containers (the cgroup freezer) until unpause. */
@Command(name = "pause", mixinStandardHelpOptions = true, description = "Freeze every process of containers.")
final class PauseCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() {
        VesselClient client = vessel.client();
        for (String id : ids) {
            client.call("POST", "/v1/containers/" + Paths.segment(id) + "/pause", "");
            vessel.out.println(id);
        }
        return 0;
    }
}
