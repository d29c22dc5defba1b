package dev.vessel.provisioner.registry;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.provisioner.image.MediaTypes;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Optional;

/**
 * {@code GET /v2/<name>/manifests/<tag or digest>}, accepting OCI indexes and manifests and Docker manifest
 * lists and schema 2 manifests. The content is verified: against the digest asked for, or, by tag, against the
 * {@code Docker-Content-Digest} header when the registry sends one.
 */
public final class ManifestEndpoint {
    /** A manifest as fetched: its bytes, the media type the registry gave, and the digest verified. */
    public record FetchedManifest(byte[] content, String mediaType, Digest digest) {
    }

    private final RegistryTransport transport;

    public ManifestEndpoint(RegistryTransport transport) {
        this.transport = transport;
    }

    /** Fetches {@code ref}'s manifest by {@code digest} when given, else by {@code ref}'s tag. */
    public FetchedManifest get(ImageReference ref, Optional<Digest> digest) throws IOException, InterruptedException {
        String name = ImageReferenceParser.format(ref);
        String selector = digest.map(Digest::toString).orElse(ref.getTag());
        HttpResponse<InputStream> response = transport.get(ref.getRegistry(), ref.getRepository(),
                "/v2/" + ref.getRepository() + "/manifests/" + selector,
                Map.of("Accept", MediaTypes.MANIFEST_ACCEPT), HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() != 200) {
            RegistryTransport.close(response);
        }
        if (response.statusCode() == 404) {
            throw VesselException.notFound("image", "manifest unknown: " + name);
        }
        if (response.statusCode() != 200) {
            throw RegistryErrors.unavailable(ref.getRegistry(), "answered " + response.statusCode()
                    + " for the manifest of " + name, null);
        }
        // A manifest is small; a bigger answer is not one, and is cut off unread.
        byte[] content = transport.readDocument(response, "manifest " + selector + " of " + name);
        Optional<String> header = response.headers().firstValue("Docker-Content-Digest");
        Digest expected = digest.orElseGet(() -> header.map(h -> Digest.parse("Docker-Content-Digest", h)).orElse(null));
        Digest actual = expected == null ? Digest.sha256(content) : hash(expected, content);
        if (expected != null && !expected.equals(actual)) {
            throw Digest.mismatch("manifest of " + name, expected, actual);
        }
        String mediaType = response.headers().firstValue("Content-Type").orElse("").replaceFirst(";.*", "").strip();
        return new FetchedManifest(content, mediaType, actual);
    }

    private static Digest hash(Digest algorithmOf, byte[] content) {
        var hasher = algorithmOf.newHasher();
        hasher.update(content);
        return algorithmOf.finish(hasher);
    }
}
