package dev.vessel.node.machines;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.MachineRequest;
import dev.vessel.core.paths.DirectoryEntries;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.Trees;
import dev.vessel.provisioner.store.BlobHolder;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The on-disk layout of the node's long-lived VMs and its readers: {@code machines/<name>/request.pb}
 * (what the VM was created with) and {@code machines/<name>/disk.qcow2} (its own disk). The base images
 * fetched by URL that these records name are held here against the store's garbage collection.
 */
public final class MachineRecords implements BlobHolder {
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,59}");
    private static final String REQUEST = "request.pb";
    private static final String DISK = "disk.qcow2";

    private final Path root;

    public MachineRecords(RuntimePaths paths) {
        this.root = paths.machinesDir();
    }

    Path dir(String name) {
        return root.resolve(name);
    }

    Path disk(String name) {
        return dir(name).resolve(DISK);
    }

    /** Makes the VM's private directory; false when one of that name exists. */
    boolean makeDir(String name) throws IOException {
        Files.createDirectories(root);
        if (Files.exists(dir(name))) {
            return false;
        }
        Files.createDirectory(dir(name), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        return true;
    }

    void write(MachineRequest request) throws IOException {
        AtomicFiles.write(dir(request.getName()).resolve(REQUEST), request.toByteArray());
    }

    void remove(String name) throws IOException {
        Trees.delete(dir(name));
    }

    /** The VM's record; empty for a name that is none (or could not be one). */
    Optional<MachineRequest> read(String name) throws IOException {
        if (!NAME.matcher(name).matches() || !Files.isRegularFile(dir(name).resolve(REQUEST))) {
            return Optional.empty();
        }
        try {
            return Optional.of(MachineRequest.parseFrom(Files.readAllBytes(dir(name).resolve(REQUEST))));
        } catch (InvalidProtocolBufferException e) {
            throw VesselException.internal("vm", "the record of VM '" + name + "' is damaged: " + e.getMessage(), e);
        }
    }

    /** Every VM's name, whose record is complete. */
    List<String> names() throws IOException {
        List<String> names = new ArrayList<>();
        for (Path dir : DirectoryEntries.matching(root, "*")) {
            if (Files.isRegularFile(dir.resolve(REQUEST))) {
                names.add(dir.getFileName().toString());
            }
        }
        return names;
    }

    /**
     * At start-up, before any create: removes what a create interrupted by a crash left (a directory
     * without its record, which would hold the name forever, and temporaries in finished ones). Returns
     * how many directories went.
     */
    public int removeUnfinished() throws IOException {
        int removed = 0;
        for (Path dir : DirectoryEntries.matching(root, "*")) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            if (Files.isRegularFile(dir.resolve(REQUEST))) {
                AtomicFiles.removeStaleTemporaries(dir);
            } else {
                Trees.delete(dir);
                removed++;
            }
        }
        return removed;
    }

    /** The fetched base images the VMs boot from: their disks' backing files, never to be collected. */
    @Override
    public Set<Digest> heldBlobs() throws IOException {
        Set<Digest> held = new HashSet<>();
        for (String name : names()) {
            read(name).filter(BaseImages::isFetched).map(r -> Digest.parse("image_digest", r.getImageDigest()))
                    .ifPresent(held::add);
        }
        return held;
    }
}
