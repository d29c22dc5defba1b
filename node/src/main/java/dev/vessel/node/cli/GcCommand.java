package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code vessel gc}: frees the blobs and layers no image uses. */
@Command(name = "gc", mixinStandardHelpOptions = true, description = "Free the blobs and unpacked layers no image uses.")
final class GcCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Option(names = "--json", description = "print the daemon's JSON")
    private boolean json;

    @Override
    public Integer call() {
        JsonNode report = vessel.client().call("POST", "/v1/images/gc", "");
        vessel.out.println(json ? report.toString() : "Removed " + report.path("blobs_removed").asLong() + " blobs and "
                + report.path("layers_removed").asLong() + " layers, freed "
                + PullCommand.bytes(report.path("bytes_freed").asLong()));
        return 0;
    }
}
