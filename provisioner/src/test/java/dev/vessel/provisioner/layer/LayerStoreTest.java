package dev.vessel.provisioner.layer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.limits.ProvisionerLimits;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerStoreTest {
    @TempDir
    Path tmp;
    private RuntimePaths paths;
    private LayerStore store;

    @BeforeAll
    static void root() throws IOException {
        RootRequired.check();
    }

    @BeforeEach
    void store() {
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        store = new LayerStore(paths, new LayerUnpacker());
    }

    @Test
    void aLayerBombIsRefusedAndLeavesNothingBehind() throws IOException {
        LayerStore capped = new LayerStore(paths, new LayerUnpacker(new ProvisionerLimits(1024, 1024, 1000, 100)));
        TarBuilder.Layer bomb = new TarBuilder().file("small", "ok").file("big", "z".repeat(10_000)).gzip();

        VesselException e = assertThrows(VesselException.class,
                () -> capped.ensure(bomb.descriptor(), () -> new ByteArrayInputStream(bomb.blob())));

        assertTrue(e.getMessage().contains(bomb.descriptor().digest()), e.getMessage());
        assertEquals(List.of(), capped.list());
        try (Stream<Path> left = Files.list(paths.layersDir().resolve("sha256"))) {
            assertEquals(List.of(), left.toList(), "the partial unpack is removed");
        }
    }

    @Test
    void theLayersDirectoryIsPrivateToRoot() throws IOException {
        Files.createDirectories(paths.layersDir());
        Files.setAttribute(paths.layersDir(), "unix:mode", 0755); // a store made before layers were kept private
        TarBuilder.Layer layer = new TarBuilder().file("usr/bin/su", "#!/bin/true\n", 04755, 0, 0).gzip();

        Path diff = store.ensure(layer.descriptor(), () -> new ByteArrayInputStream(layer.blob()));

        assertEquals(0700, (int) Files.getAttribute(paths.layersDir(), "unix:mode") & 07777);
        assertEquals(04755, (int) Files.getAttribute(diff.resolve("usr/bin/su"), "unix:mode") & 07777,
                "the container keeps its setuid program");
    }

    @Test
    void aLayerIsUnpackedUnderItsDiffIdAndCanBeListedMeasuredAndDeleted() throws IOException {
        TarBuilder.Layer layer = new TarBuilder().file("a", "12345").file("b", "678").hardlink("c", "a").gzip();
        String diffId = layer.descriptor().diffId();

        Path diff = store.ensure(layer.descriptor(), () -> new ByteArrayInputStream(layer.blob()));

        assertEquals(paths.layersDir().resolve("sha256").resolve(diffId.substring(7)).resolve("diff"), diff);
        assertEquals("12345", Files.readString(diff.resolve("a")));
        assertTrue(store.has(diffId));
        assertEquals(diff, store.path(diffId));
        assertEquals(List.of(diffId), store.list());
        assertEquals(8, store.size(diffId), "the hard link is counted once");
        assertEquals(diff, store.ensure(layer.descriptor(), () -> {
            throw new AssertionError("a stored layer is not opened again");
        }));

        assertTrue(store.delete(diffId));
        assertFalse(store.has(diffId));
        assertEquals(List.of(), store.list());
        assertFalse(store.delete(diffId));
        assertEquals(ErrorCode.NOT_FOUND, assertThrows(VesselException.class, () -> store.path(diffId)).code());
        assertLayersDirHoldsOnly(List.of());
    }

    @Test
    void concurrentRequestsForOneLayerUnpackItOnce() throws Exception {
        TarBuilder.Layer layer = new TarBuilder().file("big", "x".repeat(100_000)).zstd();
        AtomicInteger opens = new AtomicInteger();
        CountDownLatch allAsking = new CountDownLatch(8);
        List<Future<Path>> results = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> {
                    allAsking.countDown();
                    allAsking.await(10, TimeUnit.SECONDS);
                    return store.ensure(layer.descriptor(), () -> {
                        opens.incrementAndGet();
                        return slow(new ByteArrayInputStream(layer.blob()));
                    });
                }));
            }
            for (Future<Path> result : results) {
                Path diff = result.get(30, TimeUnit.SECONDS);
                assertEquals(store.path(layer.descriptor().diffId()), diff);
            }
        }
        assertEquals(1, opens.get(), "the blob was opened (unpacked) once");
    }

    @Test
    void aHostileLayerLeavesNothingInTheStore() throws IOException {
        TarBuilder.Layer layer = new TarBuilder().file("ok", "fine").symlink("etc", "/etc").file("etc/x", "bad").gzip();

        VesselException e = assertThrows(VesselException.class,
                () -> store.ensure(layer.descriptor(), () -> new ByteArrayInputStream(layer.blob())));

        assertTrue(e.getMessage().contains("etc/x"), e.getMessage());
        assertFalse(store.has(layer.descriptor().diffId()));
        assertLayersDirHoldsOnly(List.of());
    }

    @Test
    void aDiffIdMismatchLeavesNothingInTheStore() throws IOException {
        TarBuilder.Layer real = new TarBuilder().file("a", "a").gzip();
        LayerDescriptor lying = new LayerDescriptor(real.descriptor().digest(), real.descriptor().mediaType(),
                TarBuilder.sha256("other".getBytes()));

        VesselException e = assertThrows(VesselException.class,
                () -> store.ensure(lying, () -> new ByteArrayInputStream(real.blob())));

        assertEquals(ErrorCode.DATA_LOSS, e.code());
        assertFalse(store.has(lying.diffId()));
        assertLayersDirHoldsOnly(List.of());
    }

    @Test
    void aBlobThatFailsMidStreamLeavesNothingAndTheNextRequestUnpacks() throws IOException {
        TarBuilder.Layer layer = new TarBuilder().file("a", "x".repeat(50_000)).file("b", "b").plain();

        VesselException e = assertThrows(VesselException.class, () -> store.ensure(layer.descriptor(),
                () -> brokenAfter(new ByteArrayInputStream(layer.blob(), 0, 20_000))));
        assertTrue(e.getMessage().contains("connection reset"), e.getMessage());
        assertLayersDirHoldsOnly(List.of());

        Path diff = store.ensure(layer.descriptor(), () -> new ByteArrayInputStream(layer.blob()));
        assertEquals("b", Files.readString(diff.resolve("b")));
    }

    @Test
    void aCrashLeavesATemporaryDirectoryThatIsSweptAndTheLayerIsUnpackedAgain() throws IOException {
        TarBuilder.Layer layer = new TarBuilder().file("a", "complete").gzip();
        String hex = layer.descriptor().diffId().substring(7);
        // What a crash mid-unpack leaves: a partial tree under a temporary name, nothing under the real one.
        Path leftover = paths.layersDir().resolve("sha256").resolve(".tmp-" + hex + "-dead");
        Files.createDirectories(leftover.resolve("diff"));
        Files.writeString(leftover.resolve("diff/a"), "trunc");

        assertFalse(store.has(layer.descriptor().diffId()));
        assertEquals(List.of(), store.list());
        assertEquals(1, store.sweepTemporaries());
        assertLayersDirHoldsOnly(List.of());

        Path diff = store.ensure(layer.descriptor(), () -> new ByteArrayInputStream(layer.blob()));
        assertEquals("complete", Files.readString(diff.resolve("a")));
        assertEquals(0, store.sweepTemporaries());
        assertLayersDirHoldsOnly(List.of(hex));
    }

    @Test
    void aLayerWithoutDiffIdIsRefused() {
        TarBuilder.Layer layer = new TarBuilder().file("a", "a").gzip();
        LayerDescriptor noDiffId = new LayerDescriptor(layer.descriptor().digest(), layer.descriptor().mediaType(), null);

        VesselException e = assertThrows(VesselException.class,
                () -> store.ensure(noDiffId, () -> new ByteArrayInputStream(layer.blob())));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    }

    private void assertLayersDirHoldsOnly(List<String> names) throws IOException {
        Path dir = paths.layersDir().resolve("sha256");
        if (!Files.isDirectory(dir)) {
            assertEquals(List.of(), names);
            return;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            assertEquals(names, entries.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    /** A download that breaks: the bytes so far, then an error. */
    private static InputStream brokenAfter(InputStream in) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("connection reset");
                }
                return b;
            }
        };
    }

    /** Stretches the unpack so that every concurrent request arrives while it runs. */
    private static InputStream slow(InputStream in) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                return in.read();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
                return in.read(b, off, Math.min(len, 4096));
            }
        };
    }
}
