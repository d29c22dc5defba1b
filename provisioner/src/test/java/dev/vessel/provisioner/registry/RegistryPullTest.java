package dev.vessel.provisioner.registry;

import dev.vessel.provisioner.layer.LayerCompression;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.ImageDefaults;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.image.ImageLoader;
import dev.vessel.provisioner.image.Layer;
import dev.vessel.provisioner.image.MediaTypes;
import dev.vessel.provisioner.image.Platform;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.registry.BlobProgress.Phase;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import dev.vessel.provisioner.store.ImageIndex;
import dev.vessel.provisioner.testing.LocalRegistry;
import dev.vessel.provisioner.testing.RegistryProxy;
import dev.vessel.provisioner.testing.TestImages;
import dev.vessel.provisioner.testing.Tools;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Pulls from a real docker-registry on loopback, images built by umoci and pushed by skopeo. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistryPullTest {
    private LocalRegistry registry;
    private Path layout;

    @BeforeAll
    void startRegistryAndPush(@TempDir Path work) throws Exception {
        Tools.require("docker-registry", "skopeo", "umoci");
        registry = LocalRegistry.start(work.resolve("registry"), false);
        layout = TestImages.buildTwoLayer(work, "v1");
        TestImages.push(layout, "v1", registry.address() + "/vessel/two:v1", null);
    }

    @AfterAll
    void stopRegistry() throws InterruptedException {
        if (registry != null) {
            registry.close();
        }
    }

    private record Env(BlobStore store, ImageLoader loader, Puller puller) {
    }

    private static Env env(Path state) {
        RuntimePaths paths = new RuntimePaths(state, state.resolve("run"));
        BlobStore store = new BlobStore(paths);
        ImageLoader loader = new ImageLoader(store, new ImageIndex(paths));
        RegistryTransport transport = new RegistryTransport(CredentialsProvider.NONE,
                new RegistryTransport.Options(Set.of(), 4, Duration.ofMillis(20)));
        return new Env(store, loader, new Puller(transport, store, loader, Platform.LINUX_AMD64, 3));
    }

    @Test
    void pullsMultiLayerImageVerifyingEveryBlob(@TempDir Path state) throws Exception {
        Env env = env(state);
        List<BlobProgress> events = new CopyOnWriteArrayList<>();
        var ref = ImageReferenceParser.parse(registry.address() + "/vessel/two:v1");
        PulledImage image = env.puller().pull(ref, events::add);

        assertEquals(2, image.layers().size());
        assertEquals(2, image.diffIds().size());
        for (Layer layer : image.layers()) {
            assertEquals(LayerCompression.GZIP, layer.compression());
            assertEquals(layer.size(), env.store().size(layer.digest()));
        }
        // Every blob in the store hashes to its name.
        List<Digest> stored = env.store().list();
        assertTrue(stored.containsAll(List.of(image.manifestDigest(), image.configDigest())));
        for (Digest d : stored) {
            assertEquals(d, Digest.sha256(Files.readAllBytes(env.store().path(d))));
        }
        assertEquals(ImageDefaults.newBuilder()
                .addEntrypoint("/bin/busybox").addCmd("sh")
                .addEnv(EnvVar.newBuilder().setName("A").setValue("1"))
                .addEnv(EnvVar.newBuilder().setName("B").setValue("two words"))
                .setWorkingDir("/data").setUser("1000").build(),
                withoutPath(image.defaults()));
        assertEquals("linux/amd64", image.platform().toString());

        // Progress: bytes for each blob, ending at its full size.
        for (Layer layer : image.layers()) {
            List<BlobProgress> mine = events.stream().filter(e -> e.digest().equals(layer.digest())).toList();
            assertTrue(mine.stream().anyMatch(e -> e.phase() == Phase.DOWNLOADING), "no DOWNLOADING for " + layer);
            BlobProgress last = mine.getLast();
            assertEquals(Phase.DONE, last.phase());
            assertEquals(layer.size(), last.bytesDone());
            assertEquals(layer.size(), last.totalBytes());
        }

        // The index resolves it locally; a second pull finds every blob present.
        assertEquals(image, env.loader().resolveLocal(ref).orElseThrow());
        events.clear();
        assertEquals(image, env.puller().pull(ref, events::add));
        assertTrue(events.stream().allMatch(e -> e.phase() == Phase.PRESENT), events.toString());
    }

    /** umoci puts PATH in the config's Env; the test compares what it set itself. */
    private static ImageDefaults withoutPath(ImageDefaults d) {
        List<EnvVar> env = d.getEnvList().stream().filter(e -> !e.getName().equals("PATH")).toList();
        return d.toBuilder().clearEnv().addAllEnv(env).build();
    }

    @Test
    void missingTagOrRepositoryIsNotFound(@TempDir Path state) {
        Env env = env(state);
        for (String missing : List.of("/vessel/two:nosuch", "/nosuch/repo:v1")) {
            var ref = ImageReferenceParser.parse(registry.address() + missing);
            VesselException e = assertThrows(VesselException.class, () -> env.puller().pull(ref, BlobProgress.Listener.NONE));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
            assertEquals("image: manifest unknown: " + registry.address() + missing, e.getMessage());
        }
    }

    @Test
    void pullByDigestVerifiesTheManifest(@TempDir Path state) throws Exception {
        Env env = env(state);
        var byTag = env.puller().pull(ImageReferenceParser.parse(registry.address() + "/vessel/two:v1"), BlobProgress.Listener.NONE);
        var ref = ImageReferenceParser.parse(registry.address() + "/vessel/two@" + byTag.manifestDigest());
        assertEquals(byTag.layers(), env.puller().pull(ref, BlobProgress.Listener.NONE).layers());
    }

    @Test
    void corruptBlobIsRejectedAndNotStored(@TempDir Path state) throws Exception {
        try (RegistryProxy proxy = new RegistryProxy(registry.address())) {
            proxy.rewriteBlobs(body -> {
                byte[] copy = body.clone();
                copy[copy.length / 2] ^= 0x01;
                return copy;
            });
            Env env = env(state);
            var ref = ImageReferenceParser.parse(proxy.address() + "/vessel/two:v1");
            VesselException e = assertThrows(VesselException.class, () -> env.puller().pull(ref, BlobProgress.Listener.NONE));
            assertEquals(ErrorCode.DATA_LOSS, e.code());
            assertTrue(e.getMessage().matches("blob (sha256:[0-9a-f]{64}): content does not match its digest: "
                    + "expected \\1, got sha256:[0-9a-f]{64}"), e.getMessage());
            // The manifest is stored only after every blob verified, so nothing at all remains.
            assertEquals(List.of(), env.store().list());
            try (Stream<Path> files = Files.walk(state)) {
                assertEquals(List.of(), files.filter(Files::isRegularFile).toList());
            }
        }
    }

    @Test
    void concurrentPullsFetchEachBlobOnce(@TempDir Path state) throws Exception {
        try (RegistryProxy proxy = new RegistryProxy(registry.address())) {
            Env env = env(state);
            var ref = ImageReferenceParser.parse(proxy.address() + "/vessel/two:v1");
            CountDownLatch start = new CountDownLatch(1);
            List<PulledImage> images = new ArrayList<>();
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<PulledImage>> pulls = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    pulls.add(pool.submit(() -> {
                        start.await();
                        return env.puller().pull(ref, BlobProgress.Listener.NONE);
                    }));
                }
                start.countDown();
                for (Future<PulledImage> p : pulls) {
                    images.add(p.get());
                }
            }
            assertEquals(1, images.stream().distinct().count());
            PulledImage image = images.getFirst();
            Map<String, Integer> blobGets = new ConcurrentHashMap<>();
            proxy.requests().forEach((path, n) -> {
                if (path.contains("/blobs/")) {
                    blobGets.put(path, n.get());
                }
            });
            assertEquals(3, blobGets.size(), blobGets.toString());
            assertTrue(blobGets.values().stream().allMatch(n -> n == 1), "each blob fetched once: " + blobGets);
            assertEquals(1, proxy.requests("/v2/vessel/two/blobs/" + image.configDigest()));
        }
    }

    @Test
    void selectsLinuxAmd64FromAnIndex(@TempDir Path state) throws Exception {
        // Two images in one repository, one per platform, and a hand-written OCI index over them.
        String repo = registry.address() + "/vessel/multi";
        TestImages.push(layout, "v1", repo + ":amd64", null);
        Tools.run("umoci", "new", "--image", layout + ":arm");
        Tools.run("umoci", "config", "--image", layout + ":arm", "--architecture", "arm64", "--os", "linux");
        TestImages.push(layout, "arm", repo + ":arm64", null);
        String index;
        try (HttpClient http = HttpClient.newHttpClient()) {
            StringBuilder entries = new StringBuilder();
            for (String[] p : new String[][] {{"arm64", "arm64"}, {"amd64", "amd64"}}) {
                HttpResponse<byte[]> m = http.send(HttpRequest.newBuilder(URI.create("http://" + repo.replaceFirst("/", "/v2/")
                        + "/manifests/" + p[0])).header("Accept", MediaTypes.OCI_MANIFEST).build(), HttpResponse.BodyHandlers.ofByteArray());
                assertEquals(200, m.statusCode());
                entries.append(entries.isEmpty() ? "" : ",").append("""
                        {"mediaType":"%s","digest":"%s","size":%d,"platform":{"os":"linux","architecture":"%s"}}"""
                        .formatted(MediaTypes.OCI_MANIFEST, Digest.sha256(m.body()), m.body().length, p[1]));
            }
            index = "{\"schemaVersion\":2,\"mediaType\":\"" + MediaTypes.OCI_INDEX + "\",\"manifests\":[" + entries + "]}";
            HttpResponse<String> put = http.send(HttpRequest.newBuilder(URI.create("http://" + repo.replaceFirst("/", "/v2/")
                            + "/manifests/multi")).header("Content-Type", MediaTypes.OCI_INDEX)
                    .PUT(HttpRequest.BodyPublishers.ofString(index)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(201, put.statusCode(), put.body());
        }
        Env env = env(state);
        PulledImage viaIndex = env.puller().pull(ImageReferenceParser.parse(repo + ":multi"), BlobProgress.Listener.NONE);
        PulledImage direct = env.puller().pull(ImageReferenceParser.parse(repo + ":amd64"), BlobProgress.Listener.NONE);
        assertEquals(direct.manifestDigest(), viaIndex.manifestDigest());
        assertEquals("linux/amd64", viaIndex.platform().toString());

        Puller s390x = new Puller(new RegistryTransport(CredentialsProvider.NONE, RegistryTransport.Options.DEFAULTS),
                env.store(), env.loader(), new Platform("linux", "s390x", null), 2);
        VesselException e = assertThrows(VesselException.class,
                () -> s390x.pull(ImageReferenceParser.parse(repo + ":multi"), BlobProgress.Listener.NONE));
        assertEquals(ErrorCode.NOT_FOUND, e.code());
        assertEquals("image: " + repo + ":multi has no manifest for linux/s390x; available platforms: linux/arm64, linux/amd64",
                e.getMessage());
    }

    @Test
    void retriesServerErrorsThenSucceeds(@TempDir Path state) throws Exception {
        try (RegistryProxy proxy = new RegistryProxy(registry.address())) {
            int[] failuresLeft = {2};
            proxy.intercept(exchange -> {
                synchronized (failuresLeft) {
                    if (exchange.getRequestURI().getPath().contains("/manifests/") && failuresLeft[0]-- > 0) {
                        exchange.sendResponseHeaders(503, -1);
                        return true;
                    }
                }
                return false;
            });
            Env env = env(state);
            PulledImage image = env.puller().pull(ImageReferenceParser.parse(proxy.address() + "/vessel/two:v1"),
                    BlobProgress.Listener.NONE);
            assertEquals(2, image.layers().size());
            assertEquals(3, proxy.requests("/v2/vessel/two/manifests/v1"));
        }
    }

    @Test
    void manifestWhoseContentDoesNotMatchTheHeaderIsRejected(@TempDir Path state) throws Exception {
        try (RegistryProxy proxy = new RegistryProxy(registry.address())) {
            proxy.intercept(exchange -> {
                if (!exchange.getRequestURI().getPath().endsWith("/manifests/v1")) {
                    return false;
                }
                byte[] fake = "{\"schemaVersion\":2,\"config\":{},\"layers\":[]}".getBytes();
                exchange.getResponseHeaders().add("Docker-Content-Digest", "sha256:" + "0".repeat(64));
                exchange.getResponseHeaders().add("Content-Type", MediaTypes.OCI_MANIFEST);
                exchange.sendResponseHeaders(200, fake.length);
                exchange.getResponseBody().write(fake);
                return true;
            });
            Env env = env(state);
            VesselException e = assertThrows(VesselException.class, () -> env.puller().pull(
                    ImageReferenceParser.parse(proxy.address() + "/vessel/two:v1"), BlobProgress.Listener.NONE));
            assertEquals(ErrorCode.DATA_LOSS, e.code());
            assertTrue(e.getMessage().contains("expected sha256:" + "0".repeat(64)), e.getMessage());
            assertFalse(Files.exists(state.resolve("blobs")) && !env.store().list().isEmpty());
        }
    }

    @Test
    void unreachableRegistryIsUnavailableAfterBoundedRetries(@TempDir Path state) {
        Env env = env(state);
        VesselException e = assertThrows(VesselException.class, () -> env.puller().pull(
                ImageReferenceParser.parse("127.0.0.1:1/nothing:here"), BlobProgress.Listener.NONE));
        assertEquals(ErrorCode.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().startsWith("registry 127.0.0.1:1: unreachable"), e.getMessage());
        assertTrue(e.getMessage().contains("after 4 tries"), e.getMessage());
    }
}
