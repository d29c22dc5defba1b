package dev.vessel.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.spi.ContainerEvent;
import dev.vessel.provisioner.GarbageCollector;
import dev.vessel.provisioner.ImageProvisioner;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.registry.BlobProgress;
import dev.vessel.provisioner.registry.Credentials;
import dev.vessel.provisioner.store.Digest;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** {@code /v1/images}: pull (progress streamed as JSON lines), list, remove, garbage collection. */
final class ImagesApi {
    private final ImageProvisioner images;
    private final EventLog events;

    ImagesApi(ImageProvisioner images, EventLog events) {
        this.images = images;
        this.events = events;
    }

    /**
     * Body {@code {"image": "busybox"}}, with {@code "credentials": {"username": U, "password": P}} to pull with
     * these in place of the node's (for this pull only: they are kept nowhere). Answers with one JSON object per
     * line: progress per blob (a downloading blob at most every tenth of its size), then
     * {@code {"status":"pulled",…}} or {@code {"error":{…}}}.
     */
    void pull(Exchange ex) {
        ObjectNode body = ProtoJson.readObject(ex.body());
        body.fieldNames().forEachRemaining(name -> {
            if (!name.equals("image") && !name.equals("credentials")) {
                throw VesselException.invalid(Quoted.truncated(name), "unknown field");
            }
        });
        JsonNode image = body.get("image");
        if (image == null || !image.isTextual()) {
            throw VesselException.invalid("image", "a reference string is required, e.g. \"busybox\"");
        }
        ImageReference reference = ImageReferenceParser.parseWithLocalSources("image", image.asText());
        Optional<Credentials> credentials = credentials(body.get("credentials"));
        ex.startStream("application/x-ndjson");
        line(ex, ProtoJson.MAPPER.createObjectNode().put("status", "pulling")
                .put("image", ImageReferenceParser.format(reference)));
        Map<Digest, Long> reportedTenths = new ConcurrentHashMap<>();
        PulledImage pulled = images.pull(reference, progress -> {
            long tenth = progress.totalBytes() <= 0 ? 0 : progress.bytesDone() * 10 / progress.totalBytes();
            if (progress.phase() == BlobProgress.Phase.DOWNLOADING
                    && Long.valueOf(tenth).equals(reportedTenths.put(progress.digest(), tenth))) {
                return;
            }
            line(ex, ProtoJson.MAPPER.createObjectNode().put("status", progress.phase().name().toLowerCase(Locale.ROOT))
                    .put("digest", progress.digest().toString()).put("bytes_done", progress.bytesDone())
                    .put("total_bytes", progress.totalBytes()));
        }, credentials);
        events.event(new ContainerEvent(Instant.now(), ContainerEvent.IMAGE, "pull",
                ImageReferenceParser.format(pulled.reference()), Map.of("digest", pulled.manifestDigest().toString())));
        line(ex, ProtoJson.MAPPER.createObjectNode().put("status", "pulled")
                .put("image", ImageReferenceParser.format(pulled.reference()))
                .put("manifest_digest", pulled.manifestDigest().toString()));
        ex.end();
    }

    /** A pull's own credentials; an error names the field and never quotes a value. */
    private static Optional<Credentials> credentials(JsonNode node) {
        if (node == null || node.isNull()) {
            return Optional.empty();
        }
        if (!node.isObject()) {
            throw VesselException.invalid("credentials", "must be an object {\"username\": …, \"password\": …}");
        }
        node.fieldNames().forEachRemaining(name -> {
            if (!name.equals("username") && !name.equals("password")) {
                throw VesselException.invalid("credentials." + Quoted.truncated(name), "unknown field");
            }
        });
        JsonNode user = node.get("username");
        JsonNode password = node.get("password");
        if (user == null || !user.isTextual() || user.asText().isEmpty()) {
            throw VesselException.invalid("credentials.username", "a non-empty string is required");
        }
        if (password == null || !password.isTextual()) {
            throw VesselException.invalid("credentials.password", "a string is required");
        }
        return Optional.of(new Credentials(user.asText(), password.asText()));
    }

    private static void line(Exchange ex, ObjectNode json) {
        ex.write((json + "\n").getBytes(StandardCharsets.UTF_8));
    }

    void list(Exchange ex) throws IOException {
        ObjectNode out = ProtoJson.MAPPER.createObjectNode();
        ArrayNode list = out.putArray("images");
        images.images().forEach(e -> list.addObject().put("reference", e.reference())
                .put("manifest_digest", e.manifestDigest()).put("pulled_at", e.pulledAt()));
        ex.json(HttpResponseStatus.OK, out.toString());
    }

    void remove(Exchange ex) throws IOException {
        ImageReference reference = ImageReferenceParser.parseWithLocalSources("ref", ex.param("ref"));
        images.removeImage(reference);
        events.event(new ContainerEvent(Instant.now(), ContainerEvent.IMAGE, "remove",
                ImageReferenceParser.format(reference), Map.of()));
        ex.json(HttpResponseStatus.OK, ProtoJson.MAPPER.createObjectNode()
                .put("removed", ImageReferenceParser.format(reference)).toString());
    }

    void collectGarbage(Exchange ex) throws IOException {
        GarbageCollector.Report report = images.collectGarbage();
        ex.json(HttpResponseStatus.OK, ProtoJson.MAPPER.createObjectNode().put("blobs_removed", report.blobsRemoved())
                .put("layers_removed", report.layersRemoved()).put("bytes_freed", report.bytesFreed()).toString());
    }
}
