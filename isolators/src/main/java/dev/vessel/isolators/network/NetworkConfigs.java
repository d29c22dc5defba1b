package dev.vessel.isolators.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The network configurations of a directory, as libcni reads them: {@code .conflist} files, and
 * {@code .conf} / {@code .json} files of one plugin; files in name order, the first of a name wins.
 * Read on every lookup, so an operator's edit applies to the next container without a restart.
 */
final class NetworkConfigs {
    private final Path dir;
    private final ObjectMapper json;

    NetworkConfigs(Path dir, ObjectMapper json) {
        this.dir = dir;
        this.json = json;
    }

    NetworkConfig find(String network) {
        List<Path> files;
        try (Stream<Path> entries = Files.list(dir)) {
            files = entries.filter(NetworkConfigs::isConfigFile).sorted().toList();
        } catch (IOException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, dir.toString(),
                    "cannot read the CNI configuration directory: " + e.getMessage());
        }
        for (Path file : files) {
            NetworkConfig config = read(file);
            if (config.name().equals(network)) {
                return config;
            }
        }
        throw VesselException.notFound("network '" + network + "'", "no CNI configuration in " + dir + " names it");
    }

    private static boolean isConfigFile(Path file) {
        String name = file.getFileName().toString();
        return Files.isRegularFile(file) && (name.endsWith(".conflist") || name.endsWith(".conf") || name.endsWith(".json"));
    }

    private NetworkConfig read(Path file) {
        JsonNode root;
        try {
            root = json.readTree(file.toFile());
        } catch (IOException e) {
            throw invalid(file, "is not valid JSON: " + e.getMessage());
        }
        if (!(root instanceof ObjectNode object) || !root.path("name").isTextual()) {
            throw invalid(file, "must be a JSON object with a \"name\"");
        }
        String version = root.path("cniVersion").asText("");
        List<ObjectNode> plugins = new ArrayList<>();
        if (file.getFileName().toString().endsWith(".conflist")) {
            for (JsonNode plugin : root.path("plugins")) {
                if (!(plugin instanceof ObjectNode p) || !p.path("type").isTextual()) {
                    throw invalid(file, "every entry of \"plugins\" must be an object with a \"type\"");
                }
                plugins.add(p);
            }
            if (plugins.isEmpty()) {
                throw invalid(file, "has no \"plugins\"");
            }
        } else {
            if (!root.path("type").isTextual()) {
                throw invalid(file, "has no plugin \"type\"");
            }
            plugins.add(object);
        }
        return new NetworkConfig(root.get("name").asText(), version, plugins);
    }

    private static VesselException invalid(Path file, String why) {
        return new VesselException(ErrorCode.FAILED_PRECONDITION, file.toString(), "CNI configuration " + why);
    }
}
