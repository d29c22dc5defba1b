package dev.vessel.node.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.ValidationException;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.PodRequest;
import dev.vessel.core.spi.Containerizer;
import com.google.protobuf.MessageOrBuilder;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * {@code /v1/pods}: create, list, inspect, stop and delete pods. A pod is a container whose config says
 * {@code pod} (its id is the pod's name); its members are containers whose {@code parent_id} names it,
 * launched through {@code POST /v1/containers}.
 */
final class PodsApi {
    private final Containerizer containerizer;
    private final ContainerNames names;

    PodsApi(Containerizer containerizer, ContainerNames names) {
        this.containerizer = containerizer;
        this.names = names;
    }

    /** Returns once the pod's task holds its namespaces (201 with the pod). */
    void create(Exchange ex) throws IOException {
        PodRequest request = ProtoJson.merge(ProtoJson.readObject(ex.body()), PodRequest.newBuilder(), "").build();
        if (request.getName().isEmpty()) {
            throw VesselException.invalid("name", "must not be empty: give the pod a name");
        }
        ContainerConfig.Builder config = ContainerConfig.newBuilder().setId(request.getName()).setPod(true)
                .setIsolation(request.getIsolation() == Isolation.ISOLATION_UNSPECIFIED ? Isolation.PROCESS
                        : request.getIsolation())
                .addAllNetworks(request.getNetworksList()).setHostname(request.getHostname())
                .putAllLabels(request.getLabelsMap()).putAllSysctls(request.getSysctlsMap());
        if (request.hasResources()) {
            config.setResources(request.getResources());
        }
        if (request.hasVm()) {
            config.setVm(request.getVm());
        }
        try {
            ContainerConfig pod = config.build();
            names.creating(pod, false, () -> containerizer.launch(pod)); // no container may be named as the pod
        } catch (ValidationException e) {
            // the pod's name is the container's id
            throw new ValidationException(e.violations().stream().map(v -> v.field().equals("id")
                    ? new ValidationException.Violation("name", v.problem()) : v).toList());
        }
        ex.json(HttpResponseStatus.CREATED, pod(request.getName()).toString());
    }

    void list(Exchange ex) {
        ArrayNode pods = ProtoJson.MAPPER.createArrayNode();
        for (ContainerStatus status : containerizer.list()) {
            if (status.getPod()) {
                try {
                    pods.add(pod(status.getId()));
                } catch (VesselException e) {
                    if (e.code() != ErrorCode.NOT_FOUND) { // removed between the listing and this read
                        throw e;
                    }
                }
            }
        }
        ObjectNode json = ProtoJson.MAPPER.createObjectNode();
        json.set("pods", pods);
        ex.json(HttpResponseStatus.OK, json.toString());
    }

    void inspect(Exchange ex) {
        ex.json(HttpResponseStatus.OK, pod(requirePod(ex.param("name")).getId()).toString());
    }

    /**
     * Stops the members (each with its stop signal, then SIGKILL after {@code ?timeout=S}), then the pod's
     * task; answers with the pod once all have ended.
     */
    void stop(Exchange ex) {
        String name = requirePod(ex.param("name")).getId();
        Optional<Duration> timeout = StopTimeout.of(ex);
        for (ContainerStatus member : members(name)) {
            if (member.getState() != ContainerState.TERMINATED) {
                containerizer.stop(member.getId(), timeout);
            }
        }
        containerizer.stop(name, timeout);
        ex.json(HttpResponseStatus.OK, pod(name).toString());
    }

    /**
     * Removes the pod with its members. A running pod is refused unless {@code ?force=1}, which destroys
     * the members and then the pod (as {@code DELETE /v1/containers/ID?force=1}).
     */
    void delete(Exchange ex) {
        ContainerStatus pod = requirePod(ex.param("name"));
        String name = pod.getId();
        if (pod.getState() != ContainerState.TERMINATED && !ex.flag("force")) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, name, "pod " + Quoted.of(name) + " is "
                    + pod.getState() + "; stop it first or delete with ?force=1");
        }
        List<ContainerStatus> members = members(name);
        for (ContainerStatus member : members) {
            if (member.getState() != ContainerState.TERMINATED) {
                containerizer.destroy(member.getId()); // an ended pod's members are ending already
            }
        }
        if (pod.getState() != ContainerState.TERMINATED) {
            containerizer.destroy(name);
        }
        names.removing(() -> containerizer.remove(name));
        ObjectNode json = ProtoJson.MAPPER.createObjectNode().put("name", name);
        ArrayNode removed = json.putArray("members");
        members.forEach(m -> removed.add(m.getId()));
        ex.json(HttpResponseStatus.OK, json.toString());
    }

    private ContainerStatus requirePod(String name) {
        ContainerStatus status;
        try {
            status = containerizer.status(name);
        } catch (VesselException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                throw VesselException.notFound(name, "no pod " + Quoted.of(name) + " on this node");
            }
            throw e;
        }
        if (!status.getPod()) {
            throw VesselException.notFound(name, "container " + Quoted.of(name) + " is not a pod");
        }
        return status;
    }

    private List<ContainerStatus> members(String pod) {
        return containerizer.list().stream().filter(s -> s.getParentId().equals(pod)).toList();
    }

    /** The pod's status with its config and its members' statuses. */
    private ObjectNode pod(String name) {
        ObjectNode json = ProtoJson.MAPPER.createObjectNode();
        json.set("status", tree(containerizer.status(name)));
        json.set("config", tree(containerizer.config(name)));
        ArrayNode members = json.putArray("members");
        for (ContainerStatus member : members(name)) {
            members.add(tree(member));
        }
        return json;
    }

    private static ObjectNode tree(MessageOrBuilder message) {
        return ProtoJson.readObject(ProtoJson.print(message).getBytes(StandardCharsets.UTF_8));
    }
}
