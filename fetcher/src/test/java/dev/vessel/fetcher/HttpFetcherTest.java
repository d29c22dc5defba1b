package dev.vessel.fetcher;

import static dev.vessel.fetcher.FetchFixture.list;
import static dev.vessel.fetcher.FetchFixture.sandbox;
import static dev.vessel.fetcher.FetchFixture.uri;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.spi.Fetcher;
import dev.vessel.provisioner.ImageProvisioner;
import dev.vessel.provisioner.layer.TarBuilder;
import dev.vessel.provisioner.registry.CredentialsProvider;
import dev.vessel.provisioner.registry.RegistryTransport;
import dev.vessel.provisioner.rootfs.CopyBackend;
import dev.vessel.provisioner.store.Digest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HttpFetcherTest {
    static final byte[] HELLO = "hello, sandbox\n".getBytes(StandardCharsets.UTF_8);
    static final String HELLO_DIGEST = TarBuilder.sha256(HELLO);

    @TempDir
    Path tmp;
    FetchFixture node;
    ArtifactServer server;
    Path sandbox;

    @BeforeEach
    void setUp() throws Exception {
        node = new FetchFixture(tmp);
        server = new ArtifactServer().put("/tools/hello.txt", HELLO);
        sandbox = sandbox(tmp, "sandbox");
    }

    @AfterEach
    void tearDown() {
        server.close();
    }

    @Test
    void garbageCollectionKeepsCachedArtifacts() throws Exception {
        node.http.fetch(uri(server.uri("/tools/hello.txt")).build(), sandbox);
        var provisioner = new ImageProvisioner(node.paths, CredentialsProvider.NONE,
                RegistryTransport.Options.DEFAULTS, new CopyBackend(), node.cache);
        assertEquals(0, provisioner.collectGarbage().blobsRemoved());
        assertEquals(1, node.cachedBlobs());
    }

    @Test
    void fetchesIntoTheSandboxAsAPrivateCopy() throws Exception {
        Path file = node.http.fetch(uri(server.uri("/tools/hello.txt")).build(), sandbox).path();

        assertEquals(sandbox.resolve("hello.txt"), file);
        assertEquals("hello, sandbox\n", Files.readString(file));
        assertEquals(0644, (int) Files.getAttribute(file, "unix:mode") & 07777);
        assertEquals(1, (int) Files.getAttribute(file, "unix:nlink"), "a copy, not a link to the blob");
        Files.writeString(file, "changed by the task");
        assertEquals("hello, sandbox\n", Files.readString(node.cache.path(Digest.parse("d", HELLO_DIGEST))));
        assertEquals(List.of("hello.txt"), list(sandbox));
    }

    @Test
    void aSecondFetchWithTheExpectedDigestNeedsNoRequest() throws Exception {
        var u = uri(server.uri("/tools/hello.txt")).setExpectedDigest(HELLO_DIGEST).build();
        Fetcher.Fetched first = node.http.fetch(u, sandbox);
        assertEquals(1, server.requests.get());
        assertEquals(new Fetcher.Fetched(sandbox.resolve("hello.txt"), HELLO_DIGEST, 15, false), first);

        Fetcher.Fetched again = node.http.fetch(u, sandbox(tmp, "other"));

        assertEquals(1, server.requests.get(), "served from the cache");
        assertTrue(again.fromCache(), again::toString);
        assertEquals("hello, sandbox\n", Files.readString(again.path()));
    }

    @Test
    void withoutADigestEachFetchRevalidates() throws Exception {
        var u = uri(server.uri("/tools/hello.txt")).build();
        assertFalse(node.http.fetch(u, sandbox).fromCache());

        assertTrue(node.http.fetch(u, sandbox(tmp, "second")).fromCache(), "not modified: the cached copy");
        assertEquals(2, server.requests.get());
        assertEquals(1, server.notModified.get(), "the unchanged artifact was not sent again");

        server.put("/tools/hello.txt", "version 2".getBytes(StandardCharsets.UTF_8));
        Fetcher.Fetched changed = node.http.fetch(u, sandbox(tmp, "third"));
        assertFalse(changed.fromCache());
        assertEquals("version 2", Files.readString(changed.path()));
    }

    @Test
    void aDigestMismatchIsRefusedAndNothingIsKept() throws Exception {
        String wrong = TarBuilder.sha256("something else".getBytes(StandardCharsets.UTF_8));
        String at = server.uri("/tools/hello.txt");

        VesselException e = assertThrows(VesselException.class,
                () -> node.http.fetch(uri(at).setExpectedDigest(wrong).build(), sandbox));

        assertEquals(ErrorCode.DATA_LOSS, e.code());
        assertTrue(e.getMessage().contains(at) && e.getMessage().contains(wrong) && e.getMessage().contains(HELLO_DIGEST),
                e.getMessage());
        assertEquals(0, node.cachedBlobs());
        assertEquals(List.of(), list(sandbox));
    }

    @ParameterizedTest(name = "chunked={0}")
    @ValueSource(booleans = {false, true})
    void theSizeCapIsEnforced(boolean chunked) throws Exception {
        byte[] big = new byte[256 * 1024];
        if (chunked) {
            server.putChunked("/big.bin", big);
        } else {
            server.put("/big.bin", big);
        }
        String at = server.uri("/big.bin");

        VesselException e = assertThrows(VesselException.class,
                () -> node.http.fetch(uri(at).setMaxSizeBytes(1000).build(), sandbox));

        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains(at) && e.getMessage().contains("1000"), e.getMessage());
        assertEquals(0, node.cachedBlobs());
        assertEquals(List.of(), list(sandbox));
        Path downloads = node.paths.stateDir().resolve("fetcher/downloads");
        assertTrue(!Files.exists(downloads) || list(downloads).isEmpty(), "no download left behind");
    }

    @Test
    void aRedirectIsFollowed() throws Exception {
        server.redirect("/latest", "/tools/hello.txt");

        Path file = node.http.fetch(uri(server.uri("/latest")).setOutputFile("hello").build(), sandbox).path();

        assertEquals("hello, sandbox\n", Files.readString(file));
        assertEquals(2, server.requests.get());
    }

    @Test
    void notFoundIsAClearError() {
        String at = server.uri("/missing.bin");

        VesselException e = assertThrows(VesselException.class, () -> node.http.fetch(uri(at).build(), sandbox));

        assertEquals(ErrorCode.NOT_FOUND, e.code());
        assertTrue(e.getMessage().contains(at) && e.getMessage().contains("HTTP 404"), e.getMessage());
        assertEquals(at, e.field().orElseThrow());
    }

    @Test
    void executableGivesMode0755() throws Exception {
        Path file = node.http.fetch(uri(server.uri("/tools/hello.txt")).setExecutable(true).build(), sandbox).path();

        assertEquals(0755, (int) Files.getAttribute(file, "unix:mode") & 07777);
    }

    @ParameterizedTest
    @ValueSource(strings = {"../escape", "..", ".", "a/b"})
    void anOutputFileLeavingTheSandboxIsRefusedBeforeAnyRequest(String name) throws Exception {
        VesselException e = assertThrows(VesselException.class, () -> node.http.fetch(
                uri(server.uri("/tools/hello.txt")).setOutputFile(name).build(), sandbox));

        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals(0, server.requests.get());
        assertEquals(List.of("sandbox"), list(tmp).stream().filter(n -> !n.equals("state")).toList());
        assertEquals(List.of(), list(sandbox));
    }

    @Test
    void aUriWithoutAFileNameNeedsAnOutputFile() {
        VesselException e = assertThrows(VesselException.class,
                () -> node.http.fetch(uri(server.uri("/")).build(), sandbox));

        assertTrue(e.getMessage().contains("output_file"), e.getMessage());
    }

    @Test
    void prefetchedArtifactsAreFetchedOffline() throws Exception {
        server.put("/other.txt", "other".getBytes(StandardCharsets.UTF_8));
        var pinned = uri(server.uri("/tools/hello.txt")).setExpectedDigest(HELLO_DIGEST).build();
        var floating = uri(server.uri("/other.txt")).build();
        node.http.prefetch(pinned);
        node.http.prefetch(floating);
        server.close();

        assertEquals("hello, sandbox\n", Files.readString(node.http.fetch(pinned, sandbox).path()));
        assertEquals("other", Files.readString(node.http.fetch(floating, sandbox).path()));
    }

    @Test
    void anUnreachableUriNeverFetchedIsUnavailable() {
        String at = server.uri("/tools/hello.txt");
        server.close();

        VesselException e = assertThrows(VesselException.class, () -> node.http.fetch(uri(at).build(), sandbox));

        assertEquals(ErrorCode.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains(at), e.getMessage());
    }
}
