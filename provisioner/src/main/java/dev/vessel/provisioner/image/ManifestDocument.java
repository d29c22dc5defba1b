package dev.vessel.provisioner.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.util.List;

/** A parsed manifest: either one image's manifest or a list of per-platform manifests. */
public sealed interface ManifestDocument {
    /** An OCI image manifest or a Docker schema 2 manifest. */
    record ImageManifest(String mediaType, Descriptor config, List<Descriptor> layers) implements ManifestDocument {
    }

    /** An OCI image index or a Docker manifest list. */
    record ManifestList(String mediaType, List<Descriptor> manifests) implements ManifestDocument {
    }

    /**
     * Parses {@code json}; {@code contentType} is the media type the registry or the pointing descriptor
     * gave, used when the document has no {@code mediaType} field (allowed by OCI). {@code what} names the
     * document in errors.
     */
    static ManifestDocument parse(byte[] json, String contentType, String what) {
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(json);
        } catch (IOException e) {
            throw corrupt(what, "is not valid JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw corrupt(what, "is not a JSON object");
        }
        if (node.path("schemaVersion").asInt() != 2) {
            throw VesselException.invalid(what, "manifest schemaVersion " + node.path("schemaVersion")
                    + " is not supported (only schema 2: OCI or Docker v2.2)");
        }
        String mediaType = node.path("mediaType").asText(contentType == null ? "" : contentType);
        try {
            if (MediaTypes.isList(mediaType) || node.has("manifests")) {
                List<Descriptor> manifests = List.of(Json.MAPPER.treeToValue(node.path("manifests"), Descriptor[].class));
                return new ManifestList(mediaType, manifests);
            }
            if (node.has("config") && node.has("layers")) {
                Descriptor config = Json.MAPPER.treeToValue(node.get("config"), Descriptor.class);
                List<Descriptor> layers = List.of(Json.MAPPER.treeToValue(node.get("layers"), Descriptor[].class));
                return new ImageManifest(mediaType, config, layers);
            }
        } catch (JsonProcessingException e) {
            throw corrupt(what, "has malformed descriptors: " + e.getOriginalMessage());
        }
        throw corrupt(what, "is neither an image manifest nor an index (media type '" + mediaType + "')");
    }

    private static VesselException corrupt(String what, String message) {
        return new VesselException(ErrorCode.DATA_LOSS, what, "manifest " + message);
    }
}
