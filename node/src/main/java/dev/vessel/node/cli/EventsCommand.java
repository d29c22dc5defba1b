package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code vessel events}: the daemon's lifecycle events as they happen, as podman prints them (or JSON lines).
 * The daemon keeps its last 1000 events in memory for {@code --since}; none from before its start.
 */
@Command(name = "events", mixinStandardHelpOptions = true, description = "Stream the node's lifecycle events"
        + " (create, start, died, stop, kill, pause, unpause, remove, oom; image pull and remove).")
final class EventsCommand implements Callable<Integer> {
    private static final DateTimeFormatter PODMAN_TIME = DateTimeFormatter
            .ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSSSS Z 'UTC'").withZone(ZoneOffset.UTC);

    @ParentCommand
    private Vessel vessel;
    @Option(names = "--json", description = "one JSON object per event")
    private boolean json;
    @Option(names = "--format", paramLabel = "json", description = "json: as --json")
    private String format;
    @Option(names = "--since", paramLabel = "DURATION|TIME",
            description = "also the kept events from then: 10m, 1h30m, an RFC 3339 time or Unix seconds")
    private String since;
    @Option(names = "--until", paramLabel = "DURATION|TIME", description = "stop at that time (a duration counts back from now)")
    private String until;
    @Option(names = {"-f", "--filter"}, paramLabel = "KEY=VALUE",
            description = "container=ID, event=ACTION, type=container|image, image=REF (repeatable)")
    private List<String> filters = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        if (format != null && !format.equals("json")) {
            throw new CliFailure("--format: '" + format + "' is not a format this command knows (json)");
        }
        boolean asJson = json || format != null;
        Instant now = Instant.now();
        StringBuilder query = new StringBuilder();
        if (since != null) {
            query.append("&since=").append(time("--since", since, now));
        }
        if (until != null) {
            query.append("&until=").append(time("--until", until, now));
        }
        for (String filter : filters) {
            query.append("&filter=").append(URLEncoder.encode(filter, StandardCharsets.UTF_8));
        }
        String path = "/v1/events" + (query.isEmpty() ? "" : "?" + query.substring(1));
        try (VesselClient.Response response = vessel.client().open("GET", path, null)) {
            BufferedReader lines = new BufferedReader(new InputStreamReader(response.body, StandardCharsets.UTF_8));
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                JsonNode event = CliJson.JSON.readTree(line);
                if (event.has("error")) {
                    throw new CliFailure(event.path("error").path("message").asText(event.path("error").toString()));
                }
                vessel.out.println(asJson ? line : podman(event));
                vessel.out.flush();
            }
        }
        return 0;
    }

    /** {@code 2026-12-05 15:00:00.000000000 +0000 UTC container start ID (image=…, name=NAME)}. */
    static String podman(JsonNode event) {
        StringBuilder line = new StringBuilder(PODMAN_TIME.format(Instant.parse(event.path("time").asText())))
                .append(' ').append(event.path("type").asText()).append(' ').append(event.path("action").asText())
                .append(' ').append(event.path("id").asText());
        List<String> attributes = new ArrayList<>();
        JsonNode given = event.path("attributes");
        if (given.has("image")) {
            attributes.add("image=" + given.get("image").asText());
        }
        if (event.path("type").asText().equals("container")) {
            attributes.add("name=" + event.path("name").asText(event.path("id").asText()));
        }
        for (Map.Entry<String, JsonNode> a : given.properties()) {
            if (!a.getKey().equals("image")) {
                attributes.add(a.getKey() + "=" + a.getValue().asText());
            }
        }
        return attributes.isEmpty() ? line.toString() : line.append(" (").append(String.join(", ", attributes)).append(')').toString();
    }

    /** A Go-style duration back from {@code now} (10m, 1h30m, 500ms), else a time the daemon reads itself. */
    static String time(String option, String value, Instant now) {
        Optional<Duration> back = GoDurations.parse(value);
        if (back.isPresent()) {
            return now.minus(back.get()).toString();
        }
        if (value.matches("\\d+(\\.\\d{1,9})?")) {
            return value;
        }
        try {
            return DateTimeFormatter.ISO_OFFSET_DATE_TIME.parse(value, Instant::from).toString();
        } catch (DateTimeParseException e) {
            throw new CliFailure(option + ": '" + value + "' is not a duration (10m, 1h30m) or a time (RFC 3339, Unix seconds)");
        }
    }
}
