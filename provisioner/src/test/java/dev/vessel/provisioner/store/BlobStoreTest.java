package dev.vessel.provisioner.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlobStoreTest {
    @TempDir
    Path state;

    private BlobStore store() {
        return new BlobStore(new RuntimePaths(state, state.resolve("run")));
    }

    @Test
    void storesVerifiedBlobUnderItsDigest() throws IOException {
        BlobStore store = store();
        byte[] content = "hello blob".getBytes(StandardCharsets.UTF_8);
        Digest digest = Digest.sha256(content);
        assertFalse(store.has(digest));
        store.write(digest, content.length, new ByteArrayInputStream(content));
        assertTrue(store.has(digest));
        assertEquals(state.resolve("blobs/sha256/" + digest.hex()), store.path(digest));
        assertEquals(content.length, store.size(digest));
        try (InputStream in = store.open(digest)) {
            assertArrayEquals(content, in.readAllBytes());
        }
        assertEquals(List.of(digest), store.list());
        store.delete(digest);
        assertFalse(store.has(digest));
        VesselException e = assertThrows(VesselException.class, () -> store.open(digest));
        assertEquals(ErrorCode.NOT_FOUND, e.code());
    }

    @Test
    void mismatchNamesBothDigestsAndLeavesNothing() throws IOException {
        BlobStore store = store();
        Digest expected = Digest.sha256("right".getBytes(StandardCharsets.UTF_8));
        byte[] wrong = "wrong".getBytes(StandardCharsets.UTF_8);
        VesselException e = assertThrows(VesselException.class, () -> store.write(expected, wrong));
        assertEquals(ErrorCode.DATA_LOSS, e.code());
        assertTrue(e.getMessage().contains("expected " + expected) && e.getMessage().contains("got " + Digest.sha256(wrong)),
                e.getMessage());
        assertFalse(store.has(expected));
        try (Stream<Path> files = Files.walk(state.resolve("blobs"))) {
            assertEquals(List.of(), files.filter(Files::isRegularFile).toList());
        }
    }

    @Test
    void sizeMismatchIsRejected() {
        BlobStore store = store();
        byte[] content = "twelve bytes".getBytes(StandardCharsets.UTF_8);
        VesselException e = assertThrows(VesselException.class,
                () -> store.write(Digest.sha256(content), 5, new ByteArrayInputStream(content)));
        assertEquals(ErrorCode.DATA_LOSS, e.code());
        assertTrue(e.getMessage().contains("expected 5 bytes"), e.getMessage());
    }

    @Test
    void sweepRemovesWhatACrashLeft() throws IOException {
        BlobStore store = store();
        Path dir = state.resolve("blobs/sha256");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(".tmp-deadbeef-1234"), "half a blob");
        assertEquals(List.of(), store.list());
        assertEquals(1, store.sweepTemporaries());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void concurrentWritersOfOneDigestFetchOnce() throws Exception {
        BlobStore store = store();
        byte[] content = new byte[1 << 20];
        new Random(1).nextBytes(content);
        Digest digest = Digest.sha256(content);
        AtomicInteger opened = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return store.ensure(digest, content.length, () -> {
                        opened.incrementAndGet();
                        return new SlowStream(content);
                    });
                }));
            }
            start.countDown();
            int fetched = 0;
            for (Future<Boolean> r : results) {
                fetched += r.get() ? 1 : 0;
            }
            assertEquals(1, fetched);
        }
        assertEquals(1, opened.get());
        assertArrayEquals(content, Files.readAllBytes(store.path(digest)));
    }

    /** Delivers content in small slow chunks, so concurrent writers overlap. */
    private static final class SlowStream extends ByteArrayInputStream {
        SlowStream(byte[] content) {
            super(content);
        }

        @Override
        public synchronized int read(byte[] b, int off, int len) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return super.read(b, off, Math.min(len, 64 * 1024));
        }
    }
}
