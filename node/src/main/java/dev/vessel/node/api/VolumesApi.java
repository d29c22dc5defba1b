package dev.vessel.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.volume.NamedVolumes;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code /v1/volumes}: create, list, inspect, remove and prune named volumes, the {@code persistent}
 * volumes of containers' configs. A volume a container names is removed only with {@code ?force=1},
 * which removes those containers first (podman's {@code volume rm -f}); prune removes only the unused.
 */
final class VolumesApi {
    private final NamedVolumes volumes;
    private final ContainerUsers users;

    VolumesApi(NamedVolumes volumes, ContainerUsers users) {
        this.volumes = volumes;
        this.users = users;
    }

    /** {@code {"name", "labels"}}, the name optional (a random one then): 201 with the volume. */
    void create(Exchange ex) throws IOException {
        ObjectNode body = ProtoJson.readObject(ex.body());
        JsonNode name = body.get("name");
        if (name != null && !name.isNull() && !name.isTextual()) {
            throw VesselException.invalid("name", "must be a string");
        }
        Map<String, String> labels = new LinkedHashMap<>();
        JsonNode given = body.path("labels");
        if (!given.isMissingNode() && !given.isNull() && !given.isObject()) {
            throw VesselException.invalid("labels", "must be an object of strings");
        }
        for (Map.Entry<String, JsonNode> e : given.properties()) {
            if (e.getKey().isEmpty() || !e.getValue().isTextual()) {
                throw VesselException.invalid("labels", "must be an object of strings with non-empty keys");
            }
            labels.put(e.getKey(), e.getValue().asText());
        }
        String chosen = name == null || name.isNull() || name.asText().isEmpty() ? NamedVolumes.anonymousName() : name.asText();
        ex.json(HttpResponseStatus.CREATED, json(volumes.create(chosen, labels)).toString());
    }

    void list(Exchange ex) throws IOException {
        ObjectNode json = ProtoJson.MAPPER.createObjectNode();
        ArrayNode all = json.putArray("volumes");
        for (NamedVolumes.Volume v : volumes.list()) {
            all.add(json(v));
        }
        ex.json(HttpResponseStatus.OK, json.toString());
    }

    void inspect(Exchange ex) throws IOException {
        String name = ex.param("name");
        ex.json(HttpResponseStatus.OK, json(volumes.read(name).orElseThrow(() -> notFound(name))).toString());
    }

    void delete(Exchange ex) throws IOException {
        String name = ex.param("name");
        NamedVolumes.Volume volume = volumes.read(name).orElseThrow(() -> notFound(name));
        List<String> using = usersOf(name);
        if (!using.isEmpty()) {
            if (!ex.flag("force")) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, name, "volume " + Quoted.of(name)
                        + " is used by container " + String.join(", ", using) + "; remove it first or delete with ?force=1");
            }
            users.removeAll(using);
        }
        volumes.remove(name);
        ObjectNode json = ProtoJson.MAPPER.createObjectNode().put("name", volume.name());
        ArrayNode removed = json.putArray("removed_containers");
        using.forEach(removed::add);
        ex.json(HttpResponseStatus.OK, json.toString());
    }

    /** Removes every volume no container names. */
    void prune(Exchange ex) throws IOException {
        ObjectNode json = ProtoJson.MAPPER.createObjectNode();
        ArrayNode removed = json.putArray("removed");
        for (NamedVolumes.Volume v : volumes.list()) {
            if (usersOf(v.name()).isEmpty()) {
                volumes.remove(v.name());
                removed.add(v.name());
            }
        }
        ex.json(HttpResponseStatus.OK, json.toString());
    }

    private List<String> usersOf(String name) {
        return users.of((ContainerConfig c) -> c.getVolumesList().stream()
                .anyMatch(v -> v.hasPersistent() && v.getPersistent().getName().equals(name)));
    }

    private ObjectNode json(NamedVolumes.Volume v) {
        ObjectNode json = ProtoJson.MAPPER.createObjectNode().put("name", v.name()).put("driver", "local")
                .put("mountpoint", v.mountpoint().toString()).put("created", v.createdAt().toString());
        ObjectNode labels = json.putObject("labels");
        v.labels().forEach(labels::put);
        ArrayNode containers = json.putArray("containers");
        usersOf(v.name()).forEach(containers::add);
        return json;
    }

    private static VesselException notFound(String name) {
        return VesselException.notFound(name, "no volume " + Quoted.of(name) + " on this node");
    }
}
