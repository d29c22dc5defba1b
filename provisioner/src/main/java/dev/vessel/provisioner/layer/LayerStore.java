package dev.vessel.provisioner.layer;

import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.Trees;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Unpacked layers, each unpacked once and shared by every image and container that uses it, keyed
 * by diff_id (laid out by {@link LayerPaths}). A layer is unpacked into a temporary
 * directory next to its final place and renamed there in one step, so a layer under its real name
 * is always complete; a crash leaves only a temporary directory, which {@link #sweepTemporaries()}
 * removes. One process owns the store (the daemon); within it, concurrent requests for one layer
 * share a single unpack. The store's root is 0700: layers keep their setuid programs for the
 * containers, so no host user may reach them.
 */
public final class LayerStore {
    /** Opens the layer's blob; called only when the layer must be unpacked. */
    @FunctionalInterface
    public interface BlobOpener {
        InputStream open() throws IOException;
    }

    private final LayerPaths files;
    private final LayerUnpacker unpacker;
    private final ConcurrentHashMap<String, CompletableFuture<Path>> inFlight = new ConcurrentHashMap<>();

    public LayerStore(RuntimePaths paths, LayerUnpacker unpacker) {
        this.files = new LayerPaths(paths);
        this.unpacker = unpacker;
    }

    /** The layer's unpacked diff directory, unpacking the blob first if the store lacks it. */
    public Path ensure(LayerDescriptor layer, BlobOpener blob) {
        if (layer.diffId() == null) {
            throw VesselException.invalid("layer " + layer.digest(), "no diff_id: the store keys layers by diff_id");
        }
        Path diff = files.diff(layer.diffId());
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
        return Files.isDirectory(files.diff(diffId));
    }

    /** The diff directory of a layer the store holds. */
    public Path path(String diffId) {
        Path diff = files.diff(diffId);
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
        Path layerDir = files.layerDir(diffId);
        if (!Files.isDirectory(layerDir)) {
            return false;
        }
        Path doomed = files.newTemporary(diffId);
        try {
            Files.move(layerDir, doomed, StandardCopyOption.ATOMIC_MOVE);
            Trees.delete(doomed);
        } catch (IOException e) {
            throw VesselException.internal("layer " + diffId, "cannot delete " + layerDir + ": " + e.getMessage(), e);
        }
        return true;
    }

    /** The diff_ids of the layers the store holds. */
    public List<String> list() {
        try {
            return files.diffIds();
        } catch (IOException e) {
            throw VesselException.internal("layer store", "cannot list " + files.root() + ": " + e.getMessage(), e);
        }
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
        try {
            for (LayerPaths.Temporary temp : files.temporaries()) {
                if (!inFlight.containsKey(temp.diffId())) {
                    Trees.delete(temp.dir());
                    removed++;
                }
            }
        } catch (IOException e) {
            throw VesselException.internal("layer store", "cannot sweep " + files.root() + ": " + e.getMessage(), e);
        }
        return removed;
    }

    private Path unpackOnce(LayerDescriptor layer, BlobOpener blob) throws IOException {
        Path diff = files.diff(layer.diffId());
        if (Files.isDirectory(diff)) {
            return diff; // finished by a request that ran between our check and our claim
        }
        Path temp = files.newTemporary(layer.diffId());
        Path parent = temp.getParent();
        FileTrees.createPrivateDirectory(files.root());
        Files.createDirectories(parent);
        try {
            Files.createDirectory(temp);
            Path tempDiff = Files.createDirectory(LayerPaths.diffIn(temp));
            Files.setAttribute(tempDiff, "unix:mode", 0755);
            try (InputStream in = blob.open()) {
                unpacker.unpack(layer, in, tempDiff);
            }
            try {
                Files.move(temp, files.layerDir(layer.diffId()), StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                Trees.delete(temp); // another process unpacked it first
            }
            AtomicFiles.syncDirectory(parent);
            return diff;
        } catch (IOException | RuntimeException | Error e) {
            Trees.delete(temp);
            throw e;
        }
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
