package dev.vessel.provisioner.registry;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.util.Map;

/**
 * {@code GET /v2/<name>/blobs/<digest>}, following redirects (registries often send blobs from a CDN). The
 * stream is not verified here: the {@link dev.vessel.provisioner.store.BlobStore} hashes it as it writes.
 */
public final class BlobEndpoint {
    private final RegistryTransport transport;

    public BlobEndpoint(RegistryTransport transport) {
        this.transport = transport;
    }

    public InputStream open(ImageReference ref, Digest digest) throws IOException, InterruptedException {
        HttpResponse<InputStream> response = transport.get(ref.getRegistry(), ref.getRepository(),
                "/v2/" + ref.getRepository() + "/blobs/" + digest, Map.of(), HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() == 200) {
            return response.body();
        }
        RegistryTransport.close(response);
        if (response.statusCode() == 404) {
            throw VesselException.notFound("blob " + digest, "blob unknown: " + ref.getRegistry() + "/" + ref.getRepository()
                    + "@" + digest);
        }
        throw RegistryErrors.unavailable(ref.getRegistry(), "answered " + response.statusCode() + " for blob " + digest, null);
    }
}
