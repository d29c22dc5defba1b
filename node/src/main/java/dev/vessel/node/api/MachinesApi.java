package dev.vessel.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.MachineRequest;
import dev.vessel.node.machines.Machines;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.stream.Collectors;

/** {@code /v1/vms}: create, list, inspect, start, stop, delete, and the serial console's log of long-lived VMs. */
final class MachinesApi {
    /** How long an orderly stop waits for the guest to power off before pulling the plug. */
    private static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(60);
    private static final long MAX_STOP_TIMEOUT_SECONDS = 3600;
    private static final int LOG_CHUNK = 64 * 1024;

    private final Machines machines;

    MachinesApi(Machines machines) {
        this.machines = machines;
    }

    /** Returns once the VM's QEMU runs (201); its guest then boots on its own. */
    void create(Exchange ex) throws IOException {
        ObjectNode json = ProtoJson.readObject(ex.body());
        MachineRequest request = ProtoJson.merge(json, MachineRequest.newBuilder(), "").build();
        ex.json(HttpResponseStatus.CREATED, print(machines.create(request)));
    }

    void list(Exchange ex) throws IOException {
        ex.json(HttpResponseStatus.OK, "{\"vms\":[" + machines.list().stream().map(MachinesApi::print)
                .collect(Collectors.joining(",")) + "]}");
    }

    void inspect(Exchange ex) throws IOException {
        ex.json(HttpResponseStatus.OK, print(machines.get(ex.param("name"))));
    }

    void start(Exchange ex) throws IOException {
        ex.json(HttpResponseStatus.OK, print(machines.start(ex.param("name"))));
    }

    /** {@code ?force=1}: no orderly shutdown; {@code ?timeout=S}: how long the guest may take to power off. */
    void stop(Exchange ex) throws Exception {
        long seconds = ex.query("timeout").map(MachinesApi::seconds).orElse(DEFAULT_STOP_TIMEOUT.toSeconds());
        ex.json(HttpResponseStatus.OK, print(machines.stop(ex.param("name"), ex.flag("force"), Duration.ofSeconds(seconds))));
    }

    /** {@code ?force=1} removes a running VM too. */
    void delete(Exchange ex) throws Exception {
        String name = ex.param("name");
        machines.remove(name, ex.flag("force"));
        ex.json(HttpResponseStatus.OK, ProtoJson.MAPPER.createObjectNode().put("name", name).toString());
    }

    /** What the VM's serial console printed during its current (or last) boot. */
    void logs(Exchange ex) throws IOException {
        Machines.Machine machine = machines.get(ex.param("name"));
        ex.startStream("text/plain; charset=utf-8");
        if (Files.exists(machine.consoleLog())) {
            try (InputStream in = Files.newInputStream(machine.consoleLog())) {
                for (byte[] chunk; (chunk = in.readNBytes(LOG_CHUNK)).length > 0; ) {
                    if (!ex.write(chunk)) {
                        return;
                    }
                }
            }
        }
        ex.end();
    }

    private static long seconds(String text) {
        try {
            long s = Long.parseLong(text);
            if (s >= 0 && s <= MAX_STOP_TIMEOUT_SECONDS) {
                return s;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw VesselException.invalid("timeout", "must be a whole number of seconds from 0 to " + MAX_STOP_TIMEOUT_SECONDS);
    }

    private static String print(Machines.Machine m) {
        ObjectNode json = ProtoJson.MAPPER.createObjectNode()
                .put("name", m.request().getName())
                .put("state", m.state());
        var ips = json.putArray("ip_addresses");
        m.boot().ifPresent(b -> b.getIpAddressesList().forEach(ips::add));
        json.put("disk", m.disk().toString()).put("console_log", m.consoleLog().toString());
        json.set("request", tree(ProtoJson.print(m.request())));
        m.boot().ifPresent(b -> json.set("boot", tree(ProtoJson.print(b))));
        return json.toString();
    }

    private static com.fasterxml.jackson.databind.JsonNode tree(String json) {
        try {
            return ProtoJson.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException("protobuf printed JSON Jackson cannot read", e);
        }
    }
}
