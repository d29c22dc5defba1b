package dev.vessel.node.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** A command that is one API call per container it names ({@code POST /v1/containers/ID/ACTION}), printing each id once done. */
abstract class EachContainerCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    /** The last segment of the call's path. */
    abstract String action();

    @Override
    public Integer call() {
        VesselClient client = vessel.client();
        for (String id : ids) {
            client.call("POST", "/v1/containers/" + Paths.segment(id) + "/" + action(), "");
            vessel.out.println(id);
        }
        return 0;
    }
}
