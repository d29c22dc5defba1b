package dev.vessel.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.ImageReference;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.function.Function;

/**
 * The body of {@code POST /v1/containers}: a {@link ContainerConfig} in protobuf JSON, where
 * {@code "image"} may also be a reference string ({@code "busybox"}, {@code "oci:/path:tag"}), a missing
 * id is generated (12 hex digits, as Docker's short ids) and a missing isolation means PROCESS (a pod's
 * member: its pod's).
 */
final class ContainerRequests {
    private static final SecureRandom RANDOM = new SecureRandom();

    private ContainerRequests() {
    }

    /** A parsed request; {@code idGiven}: the client chose the id (a name), else it was generated. */
    record Parsed(ContainerConfig config, boolean idGiven) {
    }

    static ContainerConfig parse(byte[] body) {
        return parseRequest(body, pod -> Isolation.PROCESS).config();
    }

    /** As {@link #parse(byte[])}; a pod's member that names no isolation gets its pod's ({@code podIsolation}). */
    static Parsed parseRequest(byte[] body, Function<String, Isolation> podIsolation) {
        ObjectNode json = ProtoJson.readObject(body);
        ImageReference image = null;
        JsonNode imageNode = json.get("image");
        if (imageNode != null && imageNode.isTextual()) {
            image = ImageReferenceParser.parseWithLocalSources("image", imageNode.asText());
            json.remove("image");
        }
        ContainerConfig.Builder config = ProtoJson.merge(json, ContainerConfig.newBuilder(), "");
        if (image != null) {
            if (config.getRootCase() != ContainerConfig.RootCase.ROOT_NOT_SET) {
                throw VesselException.invalid("image", "give either image or host_rootfs, not both");
            }
            config.setImage(image);
        }
        boolean idGiven = !config.getId().isEmpty();
        if (!idGiven) {
            config.setId(HexFormat.of().formatHex(randomBytes()));
        }
        if (config.getIsolation() == Isolation.ISOLATION_UNSPECIFIED) {
            config.setIsolation(config.getParentId().isEmpty() ? Isolation.PROCESS
                    : podIsolation.apply(config.getParentId()));
        }
        return new Parsed(config.build(), idGiven);
    }

    private static byte[] randomBytes() {
        byte[] id = new byte[6];
        RANDOM.nextBytes(id);
        return id;
    }
}
