package dev.vessel.node.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code vessel rename OLD NEW}: refused. A container's name is its id, and the id names its state directory,
 * its cgroups, its monitor and log files and (in a VM) its guest's records; renaming all of them is not one
 * atomic step, so a crash in between would leave a container split across two names.
 */
@Command(name = "rename", mixinStandardHelpOptions = true, description = "Not supported: a container's name is its"
        + " id, which its state, cgroups and logs are kept under.")
final class RenameCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Parameters(index = "0", paramLabel = "OLD")
    private String from;
    @Parameters(index = "1", paramLabel = "NEW")
    private String to;

    @Override
    public Integer call() {
        vessel.client().call("GET", "/v1/containers/" + Paths.segment(from), null); // an unknown one says so first
        throw new CliFailure("rename: not supported: a container's name is its id, under which its state, cgroups and"
                + " logs are kept, and they cannot all be renamed at once safely; create a new container named '" + to
                + "' instead");
    }
}
