package dev.vessel.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.core.validation.ConfigValidator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * Containers' names besides their ids, as podman's: names and ids are one namespace (no name is another
 * container's name or id), and every {@code /v1/containers/{id}} route takes either ({@link #resolving}).
 *
 * <p>A container's name is its id until it is renamed. A rename writes {@code name} in the container's own
 * directory (a temporary file renamed over it: a crash leaves the old name or the new one), so the record
 * goes with the container when it is removed and nothing else keeps names. An id the client chose
 * ({@code vessel run --name}) is a name: once the container is renamed, it no longer resolves; a
 * generated id always does. Such a container gets its record at creation, saying so.
 */
final class ContainerNames {
    private static final String TEMP_PREFIX = ".tmp-name-";

    private record Record(String name, boolean idIsName) {
    }

    private final Containerizer containerizer;
    private final RuntimePaths paths;
    /** Held while a name is checked and taken: renames, creations' checks, removals. */
    private final Object lock = new Object();
    /** Ids of containers being created: taken, though the containerizer may not list them yet. */
    private final Set<String> creating = new HashSet<>();

    ContainerNames(Containerizer containerizer, RuntimePaths paths) {
        this.containerizer = containerizer;
        this.paths = paths;
    }

    /** {@code handler} with its {@code {id}} parameter, a container's name or id, replaced by the id. */
    Router.Handler resolving(Router.Handler handler) {
        return ex -> handler.handle(ex.withParam("id", resolve(ex.param("id"))));
    }

    /** The id of the container that {@code reference} (its current name or its id) names. */
    String resolve(String reference) {
        if (known(reference)) {
            Optional<Record> record = record(reference);
            if (record.isEmpty() || !record.get().idIsName() || record.get().name().equals(reference)) {
                return reference;
            }
            // its id was its name and it was renamed since; no other container may be named so
        } else {
            Optional<String> owner = owner(reference);
            if (owner.isPresent()) {
                return owner.get();
            }
        }
        throw VesselException.notFound(reference, "no container " + Quoted.of(reference) + " on this node");
    }

    /** The current name of the container {@code id}; empty once it is gone. */
    String name(String id) {
        return record(id).map(Record::name).orElse(id);
    }

    /**
     * Renames the container {@code id} (a reference {@link #resolve}d) to {@code name}; refused (nothing changed)
     * when the name is not valid as an id is, or is another container's name or id.
     */
    void rename(String id, String name) {
        if (!ConfigValidator.isValidId(name)) {
            throw VesselException.invalid("name", Quoted.of(name) + " must be 1 to 128 letters, digits, '_', '.' or"
                    + " '-', starting with a letter or digit");
        }
        synchronized (lock) {
            Optional<Record> record = record(id);
            if (record.map(Record::name).orElse(id).equals(name)) {
                return;
            }
            requireFree(name, id, "name");
            write(id, new Record(name, record.map(Record::idIsName).orElse(false)));
        }
    }

    /**
     * Runs {@code create}, the creation of {@code config}'s container, once its id is known to be no other
     * container's name; {@code idIsName}: the client chose the id, so that it stops naming the container once
     * that is renamed.
     */
    <T> T creating(ContainerConfig config, boolean idIsName, Supplier<T> create) {
        String id = config.getId();
        synchronized (lock) {
            Optional<String> owner = owner(id);
            if (owner.isPresent()) {
                throw new VesselException(ErrorCode.ALREADY_EXISTS, "id", "the name " + Quoted.of(id)
                        + " is taken by container " + Quoted.of(owner.get()));
            }
            if (!creating.add(id)) {
                throw new VesselException(ErrorCode.ALREADY_EXISTS, "id", "container " + Quoted.of(id)
                        + " already exists");
            }
        }
        try {
            T created = create.get();
            if (idIsName) {
                try {
                    write(id, new Record(id, true));
                } catch (VesselException e) {
                    if (e.code() != ErrorCode.NOT_FOUND) { // else it is already gone
                        throw e;
                    }
                }
            }
            return created;
        } finally {
            synchronized (lock) {
                creating.remove(id);
            }
        }
    }

    /** Runs {@code remove}, a removal of a container, while no rename writes into its directory. */
    void removing(Runnable remove) {
        synchronized (lock) {
            remove.run();
        }
    }

    private void requireFree(String name, String self, String field) {
        if (!name.equals(self) && (known(name) || creating.contains(name))) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, field, Quoted.of(name) + " is another container's id");
        }
        Optional<String> owner = owner(name);
        if (owner.isPresent() && !owner.get().equals(self)) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, field, "the name " + Quoted.of(name)
                    + " is taken by container " + Quoted.of(owner.get()));
        }
    }

    private boolean known(String id) {
        return config(id).isPresent();
    }

    private Optional<ContainerConfig> config(String id) {
        if (!ConfigValidator.isValidId(id)) {
            return Optional.empty();
        }
        try {
            return Optional.of(containerizer.config(id));
        } catch (VesselException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** The container a record names {@code name} (only renamed ones and chosen ids have one). */
    private Optional<String> owner(String name) {
        List<Path> dirs = new ArrayList<>(List.of(paths.containersDir()));
        while (!dirs.isEmpty()) {
            Path parent = dirs.removeLast();
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent)) {
                for (Path dir : entries) {
                    String id = dir.getFileName().toString();
                    if (!Files.isDirectory(dir) || !ConfigValidator.isValidId(id)) {
                        continue;
                    }
                    dirs.add(paths.nestedContainersDir(dir));
                    Optional<Record> record = read(dir);
                    if (record.isPresent() && record.get().name().equals(name) && known(id)) {
                        return Optional.of(id);
                    }
                }
            } catch (NoSuchFileException e) {
                // no containers (nested) there
            } catch (IOException e) {
                throw VesselException.internal(parent.toString(), "cannot list containers: " + e.getMessage(), e);
            }
        }
        return Optional.empty();
    }

    private Optional<Record> record(String id) {
        return dir(id).flatMap(this::read);
    }

    /** The container's directory; empty once it is gone. */
    private Optional<Path> dir(String id) {
        List<String> lineage = new ArrayList<>();
        for (String at = id; !at.isEmpty(); ) {
            Optional<ContainerConfig> config = config(at);
            if (config.isEmpty()) {
                return Optional.empty();
            }
            lineage.addFirst(at);
            at = config.get().getParentId();
        }
        return Optional.of(paths.containerDir(lineage));
    }

    private Optional<Record> read(Path dir) {
        Path file = paths.nameRecord(dir);
        try {
            JsonNode json = ProtoJson.MAPPER.readTree(Files.readAllBytes(file));
            return Optional.of(new Record(json.path("name").asText(), json.path("id_is_name").asBoolean()));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw VesselException.internal(file.toString(), "cannot read the container's name: " + e.getMessage(), e);
        }
    }

    /** Through a temporary file in the container's directory, never creating it: a container gone is NOT_FOUND. */
    private void write(String id, Record record) {
        Path dir = dir(id).orElseThrow(() -> VesselException.notFound(id, "no container " + Quoted.of(id)
                + " on this node"));
        Path temp = dir.resolve(TEMP_PREFIX + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        byte[] json = ProtoJson.MAPPER.createObjectNode().put("name", record.name())
                .put("id_is_name", record.idIsName()).toString().getBytes(StandardCharsets.UTF_8);
        try {
            try {
                Files.write(temp, json);
                Files.move(temp, paths.nameRecord(dir), StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(temp);
            }
        } catch (NoSuchFileException e) {
            throw VesselException.notFound(id, "container " + Quoted.of(id) + " was removed");
        } catch (IOException e) {
            throw VesselException.internal(dir.toString(), "cannot write the container's name: " + e.getMessage(), e);
        }
    }
}
