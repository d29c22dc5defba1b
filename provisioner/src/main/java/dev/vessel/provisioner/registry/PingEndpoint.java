package dev.vessel.provisioner.registry;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.util.Map;

/** {@code GET /v2/}: checks the registry speaks the v2 API, and learns its auth challenge up front. */
public final class PingEndpoint {
    private final RegistryTransport transport;

    public PingEndpoint(RegistryTransport transport) {
        this.transport = transport;
    }

    public void ping(String registry) throws IOException, InterruptedException {
        HttpResponse<Void> response = transport.get(registry, null, "/v2/", Map.of(), HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() != 200) {
            throw RegistryErrors.unavailable(registry, "does not speak the registry v2 API: GET /v2/ answered "
                    + response.statusCode(), null);
        }
    }
}
