package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code vessel stats}: live usage as podman prints it, one table per interval. CPU % is the CPU time a
 * container used between two samples over the time between them (100 % is one CPU busy), so even
 * {@code --no-stream} takes two samples, a second apart.
 */
@Command(name = "stats", mixinStandardHelpOptions = true, description = "Show the live resource usage of running"
        + " containers (all of them when none is named): CPU %%, memory, network, block I/O, pids.")
final class StatsCommand implements Callable<Integer> {
    private static final long FIRST_GAP_MS = 1000;

    @ParentCommand
    private Vessel vessel;
    @Option(names = "--no-stream", description = "print one table and exit")
    private boolean noStream;
    @Option(names = "--format", paramLabel = "json", description = "json: one JSON array per refresh instead of a table")
    private String format;
    @Option(names = {"-i", "--interval"}, paramLabel = "SECONDS", defaultValue = "2",
            description = "seconds between refreshes (default ${DEFAULT-VALUE})")
    private int interval;
    @Parameters(paramLabel = "CONTAINER", arity = "0..*")
    private List<String> containers = new ArrayList<>();

    @Override
    public Integer call() throws InterruptedException {
        if (format != null && !format.equals("json")) {
            throw new CliFailure("--format: '" + format + "' is not a format this command knows (json)");
        }
        if (interval < 1) {
            throw new CliFailure("--interval: must be at least 1 second");
        }
        VesselClient client = vessel.client();
        Map<String, JsonNode> previous = samples(client, targets(client), true);
        Thread.sleep(FIRST_GAP_MS);
        while (true) {
            Map<String, JsonNode> now = samples(client, targets(client), false);
            print(rows(previous, now));
            if (noStream || (!containers.isEmpty() && now.isEmpty())) {
                return 0;
            }
            previous = now;
            Thread.sleep(interval * 1000L);
        }
    }

    /** The named containers, or every running (or paused) one that is not a pod. */
    private List<String> targets(VesselClient client) {
        if (!containers.isEmpty()) {
            return containers;
        }
        List<String> running = new ArrayList<>();
        for (JsonNode c : client.call("GET", "/v1/containers", null).get("containers")) {
            String state = c.path("state").asText();
            if (!c.path("pod").asBoolean() && (state.equals("RUNNING") || state.equals("PAUSED"))) {
                running.add(c.path("id").asText());
            }
        }
        return running;
    }

    /**
     * A sample of each; one that is not running is an error when named ({@code strict}, the first round, as
     * podman's), and is otherwise left out (it ended meanwhile).
     */
    private static Map<String, JsonNode> samples(VesselClient client, List<String> ids, boolean strict) {
        Map<String, JsonNode> samples = new LinkedHashMap<>();
        for (String id : ids) {
            try {
                samples.put(id, client.call("GET", "/v1/containers/" + Paths.segment(id) + "/stats", null));
            } catch (CliFailure e) {
                if (strict) {
                    throw e;
                }
            }
        }
        return samples;
    }

    private static List<ObjectNode> rows(Map<String, JsonNode> previous, Map<String, JsonNode> now) {
        List<ObjectNode> rows = new ArrayList<>();
        Map<String, JsonNode> before = new HashMap<>(previous);
        for (Map.Entry<String, JsonNode> e : now.entrySet()) {
            JsonNode s = e.getValue();
            JsonNode p = before.get(e.getKey());
            double cpu = 0;
            if (p != null) {
                long wall = s.path("timestamp_nano").asLong() - p.path("timestamp_nano").asLong();
                long used = s.path("cpu_nanos").asLong() - p.path("cpu_nanos").asLong();
                cpu = wall > 0 ? Math.max(0, used) * 100.0 / wall : 0;
            }
            long usage = s.path("memory_usage_bytes").asLong();
            long limit = s.path("memory_limit_bytes").asLong();
            ObjectNode row = CliJson.JSON.createObjectNode().put("id", s.path("id").asText(e.getKey()))
                    .put("name", s.path("name").asText(e.getKey()))
                    .put("cpu_percent", cpu).put("mem_usage", usage).put("mem_limit", limit)
                    .put("mem_percent", limit > 0 ? usage * 100.0 / limit : 0)
                    .put("block_input", s.path("block_read_bytes").asLong())
                    .put("block_output", s.path("block_write_bytes").asLong())
                    .put("pids", s.path("pids").asLong());
            if (s.path("network_counted").asBoolean()) {
                row.put("net_input", s.path("net_rx_bytes").asLong()).put("net_output", s.path("net_tx_bytes").asLong());
            }
            rows.add(row);
        }
        return rows;
    }

    private void print(List<ObjectNode> rows) {
        if (format != null) {
            ArrayNode array = CliJson.JSON.createArrayNode();
            rows.forEach(array::add);
            vessel.out.println(array);
            vessel.out.flush();
            return;
        }
        if (!noStream && vessel.terminal) {
            vessel.out.print("\033[2J\033[H"); // each table replaces the last, as podman's
        }
        Table table = new Table("ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET IO", "BLOCK IO", "PIDS");
        for (ObjectNode r : rows) {
            String id = r.path("id").asText();
            table.row(id.length() > 12 ? id.substring(0, 12) : id, r.path("name").asText(), percent(r.path("cpu_percent").asDouble()),
                    PullCommand.bytes(r.path("mem_usage").asLong()) + " / " + PullCommand.bytes(r.path("mem_limit").asLong()),
                    percent(r.path("mem_percent").asDouble()),
                    r.has("net_input") ? PullCommand.bytes(r.path("net_input").asLong()) + " / "
                            + PullCommand.bytes(r.path("net_output").asLong()) : "-- / --",
                    PullCommand.bytes(r.path("block_input").asLong()) + " / "
                            + PullCommand.bytes(r.path("block_output").asLong()),
                    r.path("pids").asText());
        }
        table.print(vessel.out);
        vessel.out.flush();
    }

    private static String percent(double value) {
        return String.format(Locale.ROOT, "%.2f%%", value);
    }
}
