package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code vessel images}: the images on the node. */
@Command(name = "images", mixinStandardHelpOptions = true, description = "List the images on the node.")
final class ImagesCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Option(names = "--json", description = "print the daemon's JSON")
    private boolean json;

    @Override
    public Integer call() {
        JsonNode images = vessel.client().call("GET", "/v1/images", null);
        if (json) {
            vessel.out.println(images);
            return 0;
        }
        Table table = new Table("REFERENCE", "DIGEST", "PULLED");
        Instant now = Instant.now();
        for (JsonNode image : images.path("images")) {
            String digest = image.path("manifest_digest").asText();
            table.row(image.path("reference").asText(), digest.substring(0, Math.min(19, digest.length())),
                    PsCommand.ago(image.path("pulled_at").asText(""), now));
        }
        table.print(vessel.out);
        return 0;
    }
}
