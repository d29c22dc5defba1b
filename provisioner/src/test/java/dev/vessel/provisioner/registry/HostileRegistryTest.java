package dev.vessel.provisioner.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.provisioner.limits.ProvisionerLimits;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A registry on loopback whose manifest and token answers never end: the client stops at its caps. */
class HostileRegistryTest {
    /** The server gives up on its own here; a client that read everything would get this far. */
    private static final long SERVER_STOP = 256L << 20;

    private HttpServer server;
    /** What the endless body did: true when the client hung up before the server's own stop. */
    private final CompletableFuture<Boolean> cutOff = new CompletableFuture<>();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v2/", this::registry);
        server.createContext("/token", this::endless);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void aManifestThatNeverEndsIsCutOffAtTheCap() throws Exception {
        ManifestEndpoint manifests = new ManifestEndpoint(transport());

        VesselException e = assertThrows(VesselException.class, () -> manifests.get(
                ImageReferenceParser.parse(registry() + "/endless:latest"), Optional.empty()));

        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("manifest latest of " + registry() + "/endless:latest"), e.getMessage());
        assertTrue(e.getMessage().contains("65536 bytes"), e.getMessage());
        assertTrue(cutOff.get(30, TimeUnit.SECONDS), "the client hung up long before the server's end");
    }

    @Test
    void aTokenResponseThatNeverEndsIsCutOffAtTheCap() throws Exception {
        ManifestEndpoint manifests = new ManifestEndpoint(transport());

        VesselException e = assertThrows(VesselException.class, () -> manifests.get(
                ImageReferenceParser.parse(registry() + "/private:latest"), Optional.empty()));

        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("token response from realm http://" + registry() + "/token"), e.getMessage());
        assertTrue(e.getMessage().contains("1024 bytes"), e.getMessage());
        assertTrue(cutOff.get(30, TimeUnit.SECONDS), "the client hung up long before the server's end");
    }

    private RegistryTransport transport() {
        return new RegistryTransport(CredentialsProvider.NONE, new RegistryTransport.Options(Set.of(), 1, Duration.ofMillis(1)),
                new ProvisionerLimits(64 << 10, 1024, 1 << 20, 100));
    }

    private String registry() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    private void registry(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        if (path.startsWith("/v2/private/") && exchange.getRequestHeaders().getFirst("Authorization") == null) {
            exchange.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + registry() + "/token\"");
            exchange.sendResponseHeaders(401, -1);
            exchange.close();
        } else if (path.startsWith("/v2/endless/manifests/")) {
            exchange.getResponseHeaders().add("Content-Type", "application/vnd.oci.image.manifest.v1+json");
            endless(exchange);
        } else {
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
        }
    }

    /** Streams a body without end (chunked), until the client hangs up or the server's own stop. */
    private void endless(HttpExchange exchange) throws IOException {
        exchange.sendResponseHeaders(200, 0);
        byte[] chunk = new byte[64 * 1024];
        Arrays.fill(chunk, (byte) ' ');
        long sent = 0;
        try (OutputStream out = exchange.getResponseBody()) {
            out.write('{');
            while (sent < SERVER_STOP) {
                out.write(chunk);
                sent += chunk.length;
            }
            cutOff.complete(false);
        } catch (IOException hungUp) {
            cutOff.complete(true);
        }
    }
}
