package dev.vessel.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.spi.ContainerEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code GET /v1/events?since=&until=&filter=KEY=VALUE}: the node's lifecycle events as JSON lines, kept open
 * (chunked) until {@code until} or the client leaves. {@code since}/{@code until} are RFC 3339 times or Unix
 * seconds; filters as podman's: {@code container=ID} (or its current name), {@code event=ACTION}, {@code type=container|image},
 * {@code image=REF}; values of one key are alternatives, different keys must all match.
 */
final class EventsApi {
    private static final Set<String> FILTER_KEYS = Set.of("container", "event", "type", "image");
    private static final long POLL_MS = 1000;

    private final EventLog log;
    private final ContainerNames names;

    EventsApi(EventLog log, ContainerNames names) {
        this.log = log;
        this.names = names;
    }

    void stream(Exchange ex) throws InterruptedException {
        Instant since = ex.query("since").map(v -> time("since", v)).orElse(null);
        Instant until = ex.query("until").map(v -> time("until", v)).orElse(null);
        Map<String, List<String>> filters = filters(ex.queries("filter"));
        try (EventLog.Subscription events = log.subscribe(since, ex::abort)) {
            ex.startStream("application/x-ndjson");
            for (ContainerEvent e : events.past()) {
                if (until != null && e.time().isAfter(until)) {
                    break;
                }
                if (matches(e, filters) && !ex.write(line(e))) {
                    return;
                }
            }
            while (true) {
                long left = until == null ? POLL_MS : until.toEpochMilli() - System.currentTimeMillis();
                if (left <= 0) {
                    ex.end();
                    return;
                }
                if (events.overflowed() || !ex.clientConnected()) {
                    return; // dropped, or gone
                }
                ContainerEvent e = events.next(Math.min(left, POLL_MS));
                if (e == null || !matches(e, filters)) {
                    continue;
                }
                if (until != null && e.time().isAfter(until)) {
                    ex.end();
                    return;
                }
                if (!ex.write(line(e))) {
                    return;
                }
            }
        }
    }

    /** A container's event carries its name as it is when the event is sent (its id once it is removed). */
    private byte[] line(ContainerEvent e) {
        ObjectNode json = ProtoJson.MAPPER.createObjectNode().put("time", e.time().toString())
                .put("time_nano", e.time().getEpochSecond() * 1_000_000_000L + e.time().getNano())
                .put("type", e.type()).put("action", e.action()).put("id", e.id());
        if (e.type().equals(ContainerEvent.CONTAINER)) {
            json.put("name", names.name(e.id()));
        }
        ObjectNode attributes = json.putObject("attributes");
        e.attributes().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(a -> attributes.put(a.getKey(), a.getValue()));
        return (json + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private boolean matches(ContainerEvent e, Map<String, List<String>> filters) {
        for (Map.Entry<String, List<String>> f : filters.entrySet()) {
            if (f.getKey().equals("container") && e.type().equals(ContainerEvent.CONTAINER)
                    && f.getValue().contains(names.name(e.id()))) {
                continue; // a container is also its name
            }
            String value = switch (f.getKey()) {
                case "container" -> e.type().equals(ContainerEvent.CONTAINER) ? e.id() : null;
                case "event" -> e.action();
                case "type" -> e.type();
                default -> e.type().equals(ContainerEvent.IMAGE) ? e.id() : e.attributes().get("image");
            };
            if (value == null || !f.getValue().contains(value)) {
                return false;
            }
        }
        return true;
    }

    private static Map<String, List<String>> filters(List<String> given) {
        Map<String, List<String>> filters = new HashMap<>();
        for (String filter : given) {
            int eq = filter.indexOf('=');
            String key = eq < 0 ? filter : filter.substring(0, eq);
            if (eq <= 0 || eq == filter.length() - 1 || !FILTER_KEYS.contains(key)) {
                throw VesselException.invalid("filter", Quoted.truncated(filter)
                        + " is not KEY=VALUE with KEY one of container, event, type, image");
            }
            filters.computeIfAbsent(key, k -> new ArrayList<>()).add(filter.substring(eq + 1));
        }
        return filters;
    }

    /** An RFC 3339 time, or Unix seconds (with a fraction). */
    static Instant time(String field, String value) {
        try {
            if (value.matches("\\d+(\\.\\d{1,9})?")) {
                String[] parts = value.split("\\.");
                long nanos = parts.length == 1 ? 0 : Long.parseLong((parts[1] + "00000000").substring(0, 9));
                return Instant.ofEpochSecond(Long.parseLong(parts[0]), nanos);
            }
            return Instant.from(DateTimeFormatter.ISO_OFFSET_DATE_TIME.parse(value));
        } catch (DateTimeParseException | NumberFormatException e) {
            throw VesselException.invalid(field, Quoted.truncated(value)
                    + " is not a time (RFC 3339, e.g. 2026-12-05T15:00:00Z, or Unix seconds)");
        }
    }
}
