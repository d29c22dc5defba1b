package dev.vessel.launcher.vm.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;

/** QMP commands sent through libvirt's monitor passthrough, and their answers read. */
final class Qmp {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Qmp() {
    }

    /** A request for {@code command} with {@code arguments}. */
    static ObjectNode request(String command, ObjectNode arguments) {
        ObjectNode request = JSON.createObjectNode().put("execute", command);
        request.set("arguments", arguments);
        return request;
    }

    static ObjectNode arguments() {
        return JSON.createObjectNode();
    }

    /** The {@code return} of {@code request} to the running domain with this uuid. */
    static JsonNode call(LibvirtDomains libvirt, String domainUuid, ObjectNode request) throws IOException {
        return checked(libvirt.qemuMonitorCommand(domainUuid, request.toString()).orElseThrow(() ->
                new VesselException(ErrorCode.FAILED_PRECONDITION, "vm", "the VM stopped meanwhile")));
    }

    /** An answer's {@code return}; a QMP error fails with QEMU's description. */
    static JsonNode checked(String answer) throws IOException {
        JsonNode reply = JSON.readTree(answer);
        if (reply.has("error")) {
            throw new IOException(reply.path("error").path("desc").asText(answer));
        }
        return reply.path("return");
    }
}
