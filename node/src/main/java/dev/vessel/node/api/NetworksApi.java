package dev.vessel.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.node.network.CniNetworks;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * {@code /v1/networks}: create, list, inspect and remove the CNI networks containers join by name
 * ({@code networks[].network}). A network a container names is removed only with {@code ?force=1},
 * which removes those containers first (podman's {@code network rm -f}).
 */
final class NetworksApi {
    private final CniNetworks networks;
    private final ContainerUsers users;

    NetworksApi(CniNetworks networks, ContainerUsers users) {
        this.networks = networks;
        this.users = users;
    }

    /** {@code {"name", "subnet", "gateway", "internal", "driver"}}: 201 with the network. */
    void create(Exchange ex) throws IOException {
        ObjectNode body = ProtoJson.readObject(ex.body());
        CniNetworks.Request request = new CniNetworks.Request(text(body, "name").orElse(null), text(body, "subnet"),
                text(body, "gateway"), body.path("internal").asBoolean(false), text(body, "driver").orElse("bridge"));
        ex.json(HttpResponseStatus.CREATED, withUsers(networks.create(request)).toString());
    }

    void list(Exchange ex) {
        ObjectNode json = ProtoJson.MAPPER.createObjectNode();
        ArrayNode all = json.putArray("networks");
        networks.list().forEach(n -> all.add(withUsers(n)));
        ex.json(HttpResponseStatus.OK, json.toString());
    }

    void inspect(Exchange ex) {
        String name = ex.param("name");
        ex.json(HttpResponseStatus.OK, withUsers(networks.find(name).orElseThrow(() -> CniNetworks.notFound(name))).toString());
    }

    void delete(Exchange ex) throws IOException {
        String name = ex.param("name");
        networks.find(name).orElseThrow(() -> CniNetworks.notFound(name));
        List<String> using = usersOf(name);
        if (!using.isEmpty()) {
            if (!ex.flag("force")) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, name, "network " + Quoted.of(name)
                        + " is used by container " + String.join(", ", using) + "; remove it first or delete with ?force=1");
            }
            users.removeAll(using);
        }
        ObjectNode json = networks.remove(name).toJson();
        ArrayNode removed = json.putArray("removed_containers");
        using.forEach(removed::add);
        ex.json(HttpResponseStatus.OK, json.toString());
    }

    /** Removes every network this daemon created that no container names. */
    void prune(Exchange ex) throws IOException {
        ObjectNode json = ProtoJson.MAPPER.createObjectNode();
        ArrayNode removed = json.putArray("removed");
        for (CniNetworks.Network n : networks.list()) {
            if (n.managed() && usersOf(n.name()).isEmpty()) {
                networks.remove(n.name());
                removed.add(n.name());
            }
        }
        ex.json(HttpResponseStatus.OK, json.toString());
    }

    private List<String> usersOf(String name) {
        return users.of((ContainerConfig c) -> c.getNetworksList().stream().anyMatch(a -> a.getNetwork().equals(name)));
    }

    private ObjectNode withUsers(CniNetworks.Network network) {
        ObjectNode json = network.toJson();
        ArrayNode containers = json.putArray("containers");
        usersOf(network.name()).forEach(containers::add);
        return json;
    }

    private static Optional<String> text(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            return Optional.empty();
        }
        if (!value.isTextual()) {
            throw VesselException.invalid(field, "must be a string");
        }
        return Optional.of(value.asText());
    }
}
