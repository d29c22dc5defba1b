package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code vessel ps}: the running containers, or all of them with {@code -a}, each with its pod (pods: {@code vessel pod ls}). */
@Command(name = "ps", mixinStandardHelpOptions = true, description = "List containers (running ones unless -a).")
final class PsCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Option(names = {"-a", "--all"}, description = "include terminated containers")
    private boolean all;
    @Option(names = "--json", description = "print the daemon's JSON")
    private boolean json;
    @Option(names = {"-q", "--quiet"}, description = "print each container's name alone, one per line (it names the"
            + " container whether or not it was renamed, for vessel rm $(vessel ps -aq))")
    private boolean quiet;

    @Override
    public Integer call() {
        ArrayNode shown = CliJson.JSON.createArrayNode();
        for (JsonNode c : vessel.client().call("GET", "/v1/containers", null).get("containers")) {
            if (c.path("pod").asBoolean()) {
                continue; // vessel pod ls lists pods
            }
            if (all || !"TERMINATED".equals(c.path("state").asText())) {
                shown.add(c);
            }
        }
        if (json) {
            vessel.out.println(CliJson.JSON.createObjectNode().set("containers", shown));
            return 0;
        }
        if (quiet) {
            shown.forEach(c -> vessel.out.println(c.path("name").asText(c.path("id").asText())));
            return 0;
        }
        Table table = new Table("ID", "IMAGE/ROOTFS", "COMMAND", "STATE", "EXIT", "CREATED", "POD", "NAMES");
        Instant now = Instant.now();
        for (JsonNode c : shown) {
            JsonNode config = c.path("config");
            table.row(c.path("id").asText(), root(config), command(config), state(c),
                    exit(c.path("termination")), ago(c.path("created_at").asText(""), now),
                    c.path("parent_id").asText(""), c.path("name").asText(c.path("id").asText()));
        }
        table.print(vessel.out);
        for (JsonNode c : shown) {
            if (c.has("cleanup_error")) {
                vessel.out.println("cleanup of " + c.path("id").asText() + " failed " + c.path("cleanup_attempts").asInt()
                        + " time(s), retried " + in(c.path("next_cleanup_at").asText(""), now)
                        + " (vessel rm -f retries now): " + c.path("cleanup_error").asText());
            }
        }
        return 0;
    }

    /** The state, with its health check's finding while it runs, marked when its cleanup failed and is retried. */
    private static String state(JsonNode c) {
        String state = c.path("state").asText();
        if (c.has("health")) {
            state += " (" + c.path("health").path("status").asText() + ")";
        }
        return c.has("cleanup_error") ? state + " (CLEANUP FAILED)" : state;
    }

    /** "in 4 seconds", or "now" once due. */
    private static String in(String timestamp, Instant now) {
        if (timestamp.isEmpty()) {
            return "later";
        }
        long s = Duration.between(now, Instant.parse(timestamp)).toSeconds();
        return s <= 0 ? "now" : "in " + s + " seconds";
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
