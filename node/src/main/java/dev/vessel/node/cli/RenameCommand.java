package dev.vessel.node.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code vessel rename CONTAINER NEW}: a new name for a container in any state, as podman's. Its id, and what
 * is kept under it, stays; the old name no longer names it.
 */
@Command(name = "rename", mixinStandardHelpOptions = true, description = "Rename a container (its id stays).")
final class RenameCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Parameters(index = "0", paramLabel = "CONTAINER", description = "its name or id")
    private String container;
    @Parameters(index = "1", paramLabel = "NEW", description = "its new name")
    private String name;

    @Override
    public Integer call() {
        vessel.client().call("POST", "/v1/containers/" + Paths.segment(container) + "/rename?name="
                + Paths.segment(name), "");
        return 0;
    }
}
