package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code vessel ps}: the running containers, or all of them with {@code -a}. */
@Command(name = "ps", mixinStandardHelpOptions = true, description = "List containers (running ones unless -a).")
final class PsCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Option(names = {"-a", "--all"}, description = "include terminated containers")
    private boolean all;
    @Option(names = "--json", description = "print the daemon's JSON")
    private boolean json;

    @Override
    public Integer call() {
        ArrayNode shown = VesselClient.JSON.createArrayNode();
        for (JsonNode c : vessel.client().call("GET", "/v1/containers", null).get("containers")) {
            if (all || !"TERMINATED".equals(c.path("state").asText())) {
                shown.add(c);
            }
        }
        if (json) {
            vessel.out.println(VesselClient.JSON.createObjectNode().set("containers", shown));
            return 0;
        }
        Table table = new Table("ID", "IMAGE/ROOTFS", "COMMAND", "STATE", "EXIT", "CREATED");
        Instant now = Instant.now();
        for (JsonNode c : shown) {
            JsonNode config = c.path("config");
            table.row(c.path("id").asText(), root(config), command(config), c.path("state").asText(),
                    exit(c.path("termination")), ago(c.path("created_at").asText(""), now));
        }
        table.print(vessel.out);
        return 0;
    }

    private static String root(JsonNode config) {
        if (config.has("host_rootfs")) {
            return config.get("host_rootfs").asText();
        }
        JsonNode image = config.path("image");
        if (image.has("path")) {
            return image.get("path").asText() + (image.has("tag") ? ":" + image.get("tag").asText() : "");
        }
        String repo = image.path("repository").asText("").replaceFirst("^library/", "");
        return repo.isEmpty() ? "-" : repo + (image.has("tag") ? ":" + image.get("tag").asText() : "");
    }

    private static String command(JsonNode config) {
        StringBuilder argv = new StringBuilder();
        config.path("command").forEach(a -> argv.append(argv.isEmpty() ? "" : " ").append(a.asText()));
        config.path("args").forEach(a -> argv.append(argv.isEmpty() ? "" : " ").append(a.asText()));
        String text = argv.toString();
        return "\"" + (text.length() > 30 ? text.substring(0, 29) + "…" : text) + "\"";
    }

    private static String exit(JsonNode termination) {
        if (termination.has("exit_code")) {
            return termination.get("exit_code").asText();
        }
        return termination.has("signal") ? Integer.toString(128 + termination.get("signal").asInt()) : "";
    }

    /** "12 seconds ago", as docker ps says it. */
    static String ago(String timestamp, Instant now) {
        if (timestamp.isEmpty()) {
            return "";
        }
        long s = Math.max(0, Duration.between(Instant.parse(timestamp), now).toSeconds());
        if (s < 60) {
            return s + " seconds ago";
        }
        if (s < 3600) {
            return s / 60 + " minutes ago";
        }
        return s < 86_400 ? s / 3600 + " hours ago" : s / 86_400 + " days ago";
    }
}
