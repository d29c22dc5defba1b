package dev.vessel.core.volume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.Trees;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Named volumes, as podman keeps them: {@code volumes/<name>/_data} is what containers mount, beside
 * {@code volume.json} (name, labels, creation time). A volume is made whole in {@code volumes/.tmp-…}
 * and renamed into place, so a crash leaves either no volume or a whole one; {@link #recover} sweeps
 * what a crash left half made. Whether a container uses a volume is the caller's to know.
 */
public final class NamedVolumes {
    /** podman's volume name rule (also the container id rule). */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
    private static final String TMP = ".tmp-";
    private static final String ADOPT = ".adopt-";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One volume's record. */
    public record Volume(String name, Map<String, String> labels, Instant createdAt, Path mountpoint) {
    }

    private final RuntimePaths paths;

    public NamedVolumes(RuntimePaths paths) {
        this.paths = paths;
    }

    /** Refuses a name podman would refuse, naming {@code field}. */
    public static void checkName(String field, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw VesselException.invalid(field, Quoted.of(String.valueOf(name)) + " is not a volume name: letters,"
                    + " digits, '_', '.', '-', starting with a letter or digit, at most 128");
        }
    }

    /** A fresh name for a volume created without one: 64 hex digits, as podman's. */
    public static String anonymousName() {
        byte[] random = new byte[32];
        ThreadLocalRandom.current().nextBytes(random);
        return HexFormat.of().formatHex(random);
    }

    /** Creates a volume; refused when one of that name exists. */
    public Volume create(String name, Map<String, String> labels) throws IOException {
        checkName("name", name);
        if (Files.exists(paths.volumeDir(name))) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, "name", "volume " + Quoted.of(name) + " exists");
        }
        if (!place(name, labels)) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, "name", "volume " + Quoted.of(name) + " exists");
        }
        return read(name).orElseThrow();
    }

    /** The volume's data directory, the volume created first (without labels) when there is none: a run's {@code -v NAME:/dst}. */
    public Path ensure(String name) throws IOException {
        if (!Files.isRegularFile(paths.volumeRecord(name))) {
            checkName("name", name);
            place(name, Map.of()); // lost to a concurrent create: theirs is as good
        }
        return paths.persistentVolume(name);
    }

    /** Builds the volume aside and renames it into place; false when a volume of that name won the race. */
    private boolean place(String name, Map<String, String> labels) throws IOException {
        Path dir = Files.createDirectories(paths.volumesDir());
        Path tmp = dir.resolve(TMP + name + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        Files.createDirectories(tmp.resolve("_data"));
        try {
            ObjectNode record = JSON.createObjectNode().put("name", name).put("created_at", Instant.now().toString());
            ObjectNode l = record.putObject("labels");
            labels.forEach(l::put);
            Path file = tmp.resolve("volume.json");
            Files.writeString(file, record.toString(), StandardCharsets.UTF_8);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, paths.volumeDir(name), StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
            return false;
        } finally {
            Trees.delete(tmp);
        }
    }

    /** The volume's record, if there is one of that name. */
    public Optional<Volume> read(String name) throws IOException {
        Path record = paths.volumeRecord(name);
        if (!NAME.matcher(name).matches() || !Files.isRegularFile(record)) {
            return Optional.empty();
        }
        JsonNode json = JSON.readTree(record.toFile());
        Map<String, String> labels = new LinkedHashMap<>();
        json.path("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        return Optional.of(new Volume(name, labels, Instant.parse(json.path("created_at").asText()),
                paths.persistentVolume(name)));
    }

    /** Every volume, by name. */
    public List<Volume> list() throws IOException {
        List<Volume> all = new ArrayList<>();
        if (!Files.isDirectory(paths.volumesDir())) {
            return all;
        }
        try (Stream<Path> entries = Files.list(paths.volumesDir())) {
            for (String name : entries.map(p -> p.getFileName().toString()).sorted().toList()) {
                read(name).ifPresent(all::add);
            }
        }
        return all;
    }

    /** Removes a volume with its data: its record first, so that a crash halfway leaves no volume that looks whole. */
    public void remove(String name) throws IOException {
        if (read(name).isEmpty()) {
            throw VesselException.notFound(name, "no volume " + Quoted.of(name) + " on this node");
        }
        Path dir = paths.volumeDir(name);
        Path doomed = paths.volumesDir().resolve(TMP + name + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
        Trees.delete(doomed);
    }

    /**
     * At start: removes what a crash left half made or half removed ({@code .tmp-…}), and turns a volume
     * of the older layout (the data straight in {@code volumes/<name>/}) into a whole one, its data kept
     * ({@code .adopt-<name>} while that happens, finished here when a crash stopped it).
     */
    public void recover() throws IOException {
        if (!Files.isDirectory(paths.volumesDir())) {
            return;
        }
        for (Path entry : entries()) {
            String name = entry.getFileName().toString();
            if (name.startsWith(TMP)) {
                Trees.delete(entry);
            } else if (name.startsWith(ADOPT)) {
                adopt(name.substring(ADOPT.length()));
            }
        }
        for (Path entry : entries()) {
            String name = entry.getFileName().toString();
            if (NAME.matcher(name).matches() && Files.isDirectory(entry) && !Files.exists(entry.resolve("volume.json"))) {
                adopt(name);
            }
        }
    }

    private List<Path> entries() throws IOException {
        try (Stream<Path> s = Files.list(paths.volumesDir())) {
            return s.sorted().toList();
        }
    }

    /** An older layout's volume: its directory becomes {@code _data} of a new one, a record written beside it. */
    private void adopt(String name) throws IOException {
        Path tmp = paths.volumesDir().resolve(ADOPT + name);
        Path old = paths.volumeDir(name);
        Files.createDirectories(tmp);
        if (Files.isDirectory(old) && !Files.exists(tmp.resolve("_data"))) {
            Files.move(old, tmp.resolve("_data"), StandardCopyOption.ATOMIC_MOVE);
        }
        if (!Files.exists(tmp.resolve("_data")) || Files.exists(old)) {
            Files.delete(tmp); // nothing moved yet: the old directory is adopted on its own turn
            return;
        }
        ObjectNode record = JSON.createObjectNode().put("name", name).put("created_at", Instant.now().toString());
        record.putObject("labels");
        Files.writeString(tmp.resolve("volume.json"), record.toString(), StandardCharsets.UTF_8);
        Files.move(tmp, old, StandardCopyOption.ATOMIC_MOVE);
    }
}
