package dev.vessel.provisioner.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.image.ImageLoader;
import dev.vessel.provisioner.image.Platform;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.ImageIndex;
import dev.vessel.provisioner.testing.LocalRegistry;
import dev.vessel.provisioner.testing.RegistryProxy;
import dev.vessel.provisioner.testing.TestImages;
import dev.vessel.provisioner.testing.Tools;
import com.sun.net.httpserver.HttpExchange;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Basic auth against docker-registry's htpasswd, Bearer through an in-test token realm, and config.json parsing. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistryAuthTest {
    private LocalRegistry secured;
    private LocalRegistry open;

    @BeforeAll
    void startRegistries(@TempDir Path work) throws Exception {
        Tools.require("docker-registry", "skopeo", "umoci");
        secured = LocalRegistry.start(work.resolve("secured"), true);
        open = LocalRegistry.start(work.resolve("open"), false);
        Path layout = TestImages.buildTwoLayer(work, "v1");
        TestImages.push(layout, "v1", secured.address() + "/private/app:v1", LocalRegistry.USER + ":" + LocalRegistry.PASSWORD);
        TestImages.push(layout, "v1", open.address() + "/private/app:v1", null);
    }

    @AfterAll
    void stopRegistries() throws InterruptedException {
        for (LocalRegistry r : new LocalRegistry[] {secured, open}) {
            if (r != null) {
                r.close();
            }
        }
    }

    private static Puller puller(Path state, CredentialsProvider credentials) {
        RuntimePaths paths = new RuntimePaths(state, state.resolve("run"));
        BlobStore store = new BlobStore(paths);
        return new Puller(new RegistryTransport(credentials, RegistryTransport.Options.DEFAULTS), store,
                new ImageLoader(store, new ImageIndex(paths)), Platform.LINUX_AMD64, 2);
    }

    private static Path dockerConfig(Path dir, String registryKey, String user, String password) throws Exception {
        Path file = dir.resolve("config.json");
        String auth = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        Files.writeString(file, "{\"auths\":{\"" + registryKey + "\":{\"auth\":\"" + auth + "\"}}}");
        return file;
    }

    @Test
    void basicAuthWithCredentialsFromDockerConfig(@TempDir Path state) throws Exception {
        Path config = dockerConfig(state, "http://" + secured.address() + "/v2/", LocalRegistry.USER, LocalRegistry.PASSWORD);
        PulledImage image = puller(state, DockerConfigCredentials.load(config))
                .pull(ImageReferenceParser.parse(secured.address() + "/private/app:v1"), BlobProgress.Listener.NONE);
        assertEquals(2, image.layers().size());
    }

    @Test
    void basicAuthWithoutOrWithWrongCredentialsIsUnauthorized(@TempDir Path state) throws Exception {
        var ref = ImageReferenceParser.parse(secured.address() + "/private/app:v1");
        VesselException none = assertThrows(VesselException.class,
                () -> puller(state, CredentialsProvider.NONE).pull(ref, BlobProgress.Listener.NONE));
        assertEquals(ErrorCode.FAILED_PRECONDITION, none.code());
        assertEquals("registry " + secured.address() + ": unauthorized: the registry asks for a user name and password "
                + "and none are configured for it", none.getMessage());

        Path config = dockerConfig(state, secured.address(), LocalRegistry.USER, "wrong");
        VesselException wrong = assertThrows(VesselException.class,
                () -> puller(state, DockerConfigCredentials.load(config)).pull(ref, BlobProgress.Listener.NONE));
        assertEquals(ErrorCode.FAILED_PRECONDITION, wrong.code());
        assertTrue(wrong.getMessage().startsWith("registry " + secured.address() + ": unauthorized: the registry refused our credentials"),
                wrong.getMessage());
    }

    @Test
    void bearerTokenFromRealmIsFetchedOncePerScope(@TempDir Path state) throws Exception {
        AtomicInteger tokenRequests = new AtomicInteger();
        String expectedBasic = "Basic " + Base64.getEncoder().encodeToString("bob:secret".getBytes(StandardCharsets.UTF_8));
        try (RegistryProxy proxy = new RegistryProxy(open.address())) {
            proxy.intercept(exchange -> {
                String path = exchange.getRequestURI().getPath();
                if (path.equals("/token")) {
                    tokenRequests.incrementAndGet();
                    boolean ok = expectedBasic.equals(exchange.getRequestHeaders().getFirst("Authorization"))
                            && List.of("service=test-registry", "service=test-registry&scope=repository:private/app:pull")
                                    .contains(exchange.getRequestURI().getQuery());
                    byte[] body = (ok ? "{\"token\":\"tok-123\",\"expires_in\":300}" : "{}").getBytes();
                    exchange.sendResponseHeaders(ok ? 200 : 401, body.length);
                    exchange.getResponseBody().write(body);
                    return true;
                }
                if (!"Bearer tok-123".equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                    exchange.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + proxyAddress(exchange)
                            + "/token\",service=\"test-registry\"");
                    exchange.sendResponseHeaders(401, -1);
                    return true;
                }
                return false;
            });
            CredentialsProvider creds = registry -> Optional.of(new Credentials("bob", "secret"));
            PulledImage image = puller(state, creds).pull(ImageReferenceParser.parse(proxy.address() + "/private/app:v1"),
                    BlobProgress.Listener.NONE);
            assertEquals(2, image.layers().size());
            // One token for the ping (no scope) and one for the repository scope; cached for every blob after.
            assertEquals(2, tokenRequests.get());

            CredentialsProvider wrong = registry -> Optional.of(new Credentials("bob", "nope"));
            VesselException e = assertThrows(VesselException.class, () -> puller(state, wrong)
                    .pull(ImageReferenceParser.parse(proxy.address() + "/private/app:v1"), BlobProgress.Listener.NONE));
            assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
            assertTrue(e.getMessage().contains("unauthorized: token realm http://" + proxy.address()
                    + "/token refused the credentials of user 'bob'"), e.getMessage());
        }
    }

    /** A token realm on a proxy of the open registry that gives a token to bob:secret only. */
    private static void bobsTokenRealm(RegistryProxy proxy, AtomicInteger tokenRequests) {
        String expectedBasic = "Basic " + Base64.getEncoder().encodeToString("bob:secret".getBytes(StandardCharsets.UTF_8));
        proxy.intercept(exchange -> {
            if (exchange.getRequestURI().getPath().equals("/token")) {
                tokenRequests.incrementAndGet();
                boolean ok = expectedBasic.equals(exchange.getRequestHeaders().getFirst("Authorization"));
                byte[] body = (ok ? "{\"token\":\"tok-bob\",\"expires_in\":300}" : "{}").getBytes();
                exchange.sendResponseHeaders(ok ? 200 : 401, body.length);
                exchange.getResponseBody().write(body);
                return true;
            }
            if (!"Bearer tok-bob".equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                exchange.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + proxyAddress(exchange)
                        + "/token\",service=\"test-registry\"");
                exchange.sendResponseHeaders(401, -1);
                return true;
            }
            return false;
        });
    }

    /** A token got with credentials serves those credentials only: not a pull after they were removed, nor another's. */
    @Test
    void tokensServeOnlyTheCredentialsTheyWereGotWith(@TempDir Path state) throws Exception {
        try (RegistryProxy proxy = new RegistryProxy(open.address())) {
            bobsTokenRealm(proxy, new AtomicInteger());
            var ref = ImageReferenceParser.parse(proxy.address() + "/private/app:v1");
            AtomicReference<Optional<Credentials>> configured = new AtomicReference<>(Optional.of(new Credentials("bob", "secret")));
            Puller puller = puller(state, registry -> configured.get());
            assertEquals(2, puller.pull(ref, BlobProgress.Listener.NONE).layers().size());

            configured.set(Optional.empty()); // a logout
            VesselException loggedOut = assertThrows(VesselException.class, () -> puller.pull(ref, BlobProgress.Listener.NONE));
            assertTrue(loggedOut.getMessage().contains("refused anonymous access"), loggedOut.getMessage());

            // one pull's own credentials: that pull only, its tokens not kept for the next
            assertEquals(2, puller.pull(ref, BlobProgress.Listener.NONE, new Credentials("bob", "secret")).layers().size());
            assertThrows(VesselException.class, () -> puller.pull(ref, BlobProgress.Listener.NONE));
            VesselException wrong = assertThrows(VesselException.class,
                    () -> puller.pull(ref, BlobProgress.Listener.NONE, new Credentials("bob", "not-the-secret")));
            assertFalse(wrong.getMessage().contains("not-the-secret"), wrong.getMessage());
        }
    }

    @Test
    void perPullCredentialsWithBasicAuthAndNoneConfigured(@TempDir Path state) throws Exception {
        var ref = ImageReferenceParser.parse(secured.address() + "/private/app:v1");
        Puller puller = puller(state, CredentialsProvider.NONE);
        assertEquals(2, puller.pull(ref, BlobProgress.Listener.NONE,
                new Credentials(LocalRegistry.USER, LocalRegistry.PASSWORD)).layers().size());
        VesselException after = assertThrows(VesselException.class, () -> puller.pull(ref, BlobProgress.Listener.NONE));
        assertTrue(after.getMessage().contains("none are configured"), after.getMessage());
    }

    /** The daemon's view of config.json follows the file: a login's rename, a logout, its removal. */
    @Test
    void reloadingCredentialsFollowTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        ReloadingCredentials creds = new ReloadingCredentials(file);
        assertEquals(Optional.empty(), creds.forRegistry("r.example"));
        Path written = dockerConfig(Files.createDirectories(dir.resolve("a")), "r.example", "alice", "one");
        Files.move(written, file);
        assertEquals(Optional.of(new Credentials("alice", "one")), creds.forRegistry("r.example"));
        Files.move(dockerConfig(Files.createDirectories(dir.resolve("b")), "r.example", "alice", "two"), file, StandardCopyOption.REPLACE_EXISTING);
        assertEquals(Optional.of(new Credentials("alice", "two")), creds.forRegistry("r.example"));
        Files.writeString(file, "{\"auths\":{}}");
        assertEquals(Optional.empty(), creds.forRegistry("r.example"));
        Files.writeString(file, "{\"auths\": {\"r.example\": {\"password\": \"leak-me\" oops");
        VesselException broken = assertThrows(VesselException.class, () -> creds.forRegistry("r.example"));
        assertTrue(broken.getMessage().startsWith(file + ": is not valid JSON (line 1, column "), broken.getMessage());
        assertFalse(broken.getMessage().contains("leak-me") || broken.getMessage().contains("oops"), broken.getMessage());
        Files.delete(file);
        assertEquals(Optional.empty(), creds.forRegistry("r.example"));
    }

    private static String proxyAddress(HttpExchange exchange) {
        return "127.0.0.1:" + exchange.getLocalAddress().getPort();
    }

    @Test
    void dockerConfigFormats(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        Files.writeString(file, """
                {"auths": {
                  "https://index.docker.io/v1/": {"auth": "%s"},
                  "quay.io": {"username": "q", "password": "p"},
                  "ghcr.io": {}
                }, "credsStore": "desktop"}""".formatted(
                Base64.getEncoder().encodeToString("hub:pw:with:colons".getBytes(StandardCharsets.UTF_8))));
        DockerConfigCredentials creds = DockerConfigCredentials.load(file);
        assertEquals(Optional.of(new Credentials("hub", "pw:with:colons")), creds.forRegistry(ImageReferenceParser.DOCKER_HUB));
        assertEquals(Optional.of(new Credentials("q", "p")), creds.forRegistry("quay.io"));
        assertEquals(Optional.empty(), creds.forRegistry("ghcr.io"));
        assertEquals(Optional.empty(), DockerConfigCredentials.load(dir.resolve("absent.json")).forRegistry("quay.io"));
        assertEquals(Path.of("/cfg/config.json"), DockerConfigCredentials.defaultLocation(Map.of("DOCKER_CONFIG", "/cfg")));
        assertEquals(Path.of("/home/u/.docker/config.json"), DockerConfigCredentials.defaultLocation(Map.of("HOME", "/home/u")));
        assertEquals("Credentials[q, ****]", new Credentials("q", "p").toString());
    }

    @Test
    void challengeParsing() {
        AuthChallenge c = AuthChallenge.choose(List.of("Basic realm=\"r\"",
                "Bearer realm=\"https://auth.example/token\",service=\"reg, inc\",scope=\"repository:a/b:pull\"")).orElseThrow();
        assertEquals("bearer", c.scheme());
        assertEquals("https://auth.example/token", c.param("realm"));
        assertEquals("reg, inc", c.param("service"));
        assertEquals("repository:a/b:pull", c.param("scope"));
        assertEquals(Optional.empty(), AuthChallenge.choose(List.of("Negotiate abc")));
    }

    @Test
    void plainHttpOnlyForLoopbackOrInsecure() {
        RegistryTransport t = new RegistryTransport(CredentialsProvider.NONE,
                new RegistryTransport.Options(Set.of("lab.internal:5000"), 4, Duration.ofMillis(1)));
        assertEquals("http://127.0.0.1:5000", t.baseUri("127.0.0.1:5000").toString());
        assertEquals("http://127.3.4.5", t.baseUri("127.3.4.5").toString());
        assertEquals("http://localhost:5000", t.baseUri("localhost:5000").toString());
        assertEquals("http://[::1]:5000", t.baseUri("[::1]:5000").toString());
        assertEquals("http://lab.internal:5000", t.baseUri("lab.internal:5000").toString());
        assertEquals("https://registry-1.docker.io", t.baseUri("registry-1.docker.io").toString());
        assertEquals("https://128.0.0.1:5000", t.baseUri("128.0.0.1:5000").toString());
        assertEquals("https://localhost.evil.com", t.baseUri("localhost.evil.com").toString());
    }
}
