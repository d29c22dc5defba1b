package dev.vessel.provisioner.layer;

import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Unpacked layers, each unpacked once and shared by every image and container that uses it, keyed
 * by diff_id: {@code <layers>/<algorithm>/<hex>/diff}. A layer is unpacked into a temporary
 * directory next to its final place and renamed there in one step, so a layer under its real name
 * is always complete; a crash leaves only a temporary directory, which {@link #sweepTemporaries()}
 * removes. One process owns the store (the daemon); within it, concurrent requests for one layer
 * share a single unpack.
 */
public final class LayerStore {
    private static final String TEMP_PREFIX = ".tmp-";
    private static final List<String> ALGORITHMS = List.of("sha256", "sha512");

    /** Opens the layer's blob; called only when the layer must be unpacked. */
    @FunctionalInterface
    public interface BlobOpener {
        InputStream open() throws IOException;
    }

    private final Path layersDir;
    private final LayerUnpacker unpacker;
    private final ConcurrentHashMap<String, CompletableFuture<Path>> inFlight = new ConcurrentHashMap<>();

    public LayerStore(RuntimePaths paths, LayerUnpacker unpacker) {
        this.layersDir = paths.layersDir();
        this.unpacker = unpacker;
    }

    /** The layer's unpacked diff directory, unpacking the blob first if the store lacks it. */
    public Path ensure(LayerDescriptor layer, BlobOpener blob) {
        if (layer.diffId() == null) {
            throw VesselException.invalid("layer " + layer.digest(), "no diff_id: the store keys layers by diff_id");
        }
        Path diff = diffPath(layer.diffId());
        if (Files.isDirectory(diff)) {
            return diff;
        }
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> running = inFlight.putIfAbsent(layer.diffId(), mine);
        if (running != null) {
            return join(layer.diffId(), running);
        }
        try {
            mine.complete(unpackOnce(layer, blob));
        } catch (Throwable t) {
            mine.completeExceptionally(t);
        } finally {
            inFlight.remove(layer.diffId(), mine);
        }
        return join(layer.diffId(), mine);
    }

    public boolean has(String diffId) {
        return Files.isDirectory(diffPath(diffId));
    }

    /** The diff directory of a layer the store holds. */
    public Path path(String diffId) {
        Path diff = diffPath(diffId);
        if (!Files.isDirectory(diff)) {
            throw VesselException.notFound("layer " + diffId, "not in the layer store");
        }
        return diff;
    }

    /**
     * Removes a layer; false if the store did not hold it. The layer first leaves its real name by
     * a rename, so a crash mid-delete leaves a temporary directory, never half a layer. Whether a
     * rootfs still uses the layer is the caller's (the garbage collector's) concern.
     */
    public boolean delete(String diffId) {
        Path layerDir = diffPath(diffId).getParent();
        if (!Files.isDirectory(layerDir)) {
            return false;
        }
        Path doomed = layerDir.resolveSibling(tempName(diffId));
        try {
            Files.move(layerDir, doomed, StandardCopyOption.ATOMIC_MOVE);
            FileTrees.deleteRecursively(doomed);
        } catch (IOException e) {
            throw VesselException.internal("layer " + diffId, "cannot delete " + layerDir + ": " + e.getMessage(), e);
        }
        return true;
    }

    /** The diff_ids of the layers the store holds. */
    public List<String> list() {
        List<String> ids = new ArrayList<>();
        for (String algorithm : ALGORITHMS) {
            Path dir = layersDir.resolve(algorithm);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
                for (Path entry : entries) {
                    String name = entry.getFileName().toString();
                    if (!name.startsWith(TEMP_PREFIX) && Files.isDirectory(entry.resolve("diff"))) {
                        ids.add(algorithm + ":" + name);
                    }
                }
            } catch (IOException e) {
                throw VesselException.internal("layer store", "cannot list " + dir + ": " + e.getMessage(), e);
            }
        }
        return ids;
    }

    /** Bytes the layer's files take, each hard-linked file counted once. */
    public long size(String diffId) {
        Path diff = path(diffId);
        try {
            return FileTrees.size(diff);
        } catch (IOException e) {
            throw VesselException.internal("layer " + diffId, "cannot measure " + diff + ": " + e.getMessage(), e);
        }
    }

    /**
     * Removes what interrupted unpacks and deletes left behind (all of it at start-up); returns how
     * many. Unpacks running in this process keep their directories.
     */
    public int sweepTemporaries() {
        int removed = 0;
        for (String algorithm : ALGORITHMS) {
            Path dir = layersDir.resolve(algorithm);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, TEMP_PREFIX + "*")) {
                for (Path temp : temps) {
                    if (!inFlight.containsKey(algorithm + ":" + hexOfTemp(temp))) {
                        FileTrees.deleteRecursively(temp);
                        removed++;
                    }
                }
            } catch (IOException e) {
                throw VesselException.internal("layer store", "cannot sweep " + dir + ": " + e.getMessage(), e);
            }
        }
        return removed;
    }

    private Path unpackOnce(LayerDescriptor layer, BlobOpener blob) throws IOException {
        Path diff = diffPath(layer.diffId());
        if (Files.isDirectory(diff)) {
            return diff; // finished by a request that ran between our check and our claim
        }
        Path parent = diff.getParent().getParent();
        Files.createDirectories(parent);
        Path temp = parent.resolve(tempName(layer.diffId()));
        try {
            Files.createDirectory(temp);
            Path tempDiff = Files.createDirectory(temp.resolve("diff"));
            Files.setAttribute(tempDiff, "unix:mode", 0755);
            try (InputStream in = blob.open()) {
                unpacker.unpack(layer, in, tempDiff);
            }
            try {
                Files.move(temp, diff.getParent(), StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                FileTrees.deleteRecursively(temp); // another process unpacked it first
            }
            AtomicFiles.syncDirectory(parent);
            return diff;
        } catch (IOException | RuntimeException | Error e) {
            FileTrees.deleteRecursively(temp);
            throw e;
        }
    }

    private Path diffPath(String diffId) {
        Digest digest = Digest.parse("diff_id", diffId);
        return layersDir.resolve(digest.algorithm()).resolve(digest.hex()).resolve("diff");
    }

    private static String tempName(String diffId) {
        return TEMP_PREFIX + Digest.parse("diff_id", diffId).hex() + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    }

    private static String hexOfTemp(Path temp) {
        String name = temp.getFileName().toString().substring(TEMP_PREFIX.length());
        int dash = name.indexOf('-');
        return dash < 0 ? name : name.substring(0, dash);
    }

    private static Path join(String diffId, CompletableFuture<Path> future) {
        try {
            return future.join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new VesselException(ErrorCode.INTERNAL, "layer " + diffId, "cannot unpack: " + cause.getMessage(), cause);
        }
    }
}
