package dev.vessel.isolators.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * The runtime side of the CNI 1.0 contract: finds plugin binaries by {@code type}, runs a network's
 * plugins in order for ADD (each given the previous one's result) and in reverse for DEL (each given
 * the cached result of the ADD), and turns a plugin's error object into a {@link VesselException}.
 */
final class CniRuntime {
    /** The place in a container whose interfaces are named by the runtime: the CNI_* variables. */
    record Target(String containerId, Path netns, String ifName) {
    }

    private final List<Path> pluginDirs;
    private final PluginRunner runner;
    private final ObjectMapper json;

    CniRuntime(List<Path> pluginDirs, PluginRunner runner, ObjectMapper json) {
        this.pluginDirs = List.copyOf(pluginDirs);
        this.runner = runner;
        this.json = json;
    }

    /** Fails, naming the network and plugin, unless every plugin of {@code network} is installed. */
    void checkInstalled(NetworkConfig network) {
        network.types().forEach(type -> find(network.name(), type));
    }

    /** ADD: the plugins in order; returns the last one's result. */
    JsonNode add(NetworkConfig network, JsonNode portMappings, Target target) {
        JsonNode result = null;
        for (ObjectNode plugin : network.plugins()) {
            result = exec("ADD", network, plugin, portMappings, result, target);
        }
        return result;
    }

    /** DEL: the plugins in reverse order, each given the ADD's result when there is one. */
    void del(NetworkConfig network, JsonNode portMappings, JsonNode cachedResult, Target target) {
        for (ObjectNode plugin : network.plugins().reversed()) {
            exec("DEL", network, plugin, portMappings, cachedResult, target);
        }
    }

    /**
     * The plugin's stdin per the spec: its own object with the list's {@code name} and
     * {@code cniVersion}, the {@code prevResult}, and {@code runtimeConfig.portMappings} for a plugin
     * that declares the portMappings capability.
     */
    private ObjectNode stdin(NetworkConfig network, ObjectNode plugin, JsonNode portMappings, JsonNode prevResult) {
        ObjectNode conf = plugin.deepCopy();
        conf.put("name", network.name());
        conf.put("cniVersion", network.cniVersion());
        if (prevResult != null) {
            conf.set("prevResult", prevResult);
        }
        if (plugin.path("capabilities").path("portMappings").asBoolean(false) && portMappings.size() > 0) {
            conf.withObject("runtimeConfig").set("portMappings", portMappings);
        }
        return conf;
    }

    private JsonNode exec(String command, NetworkConfig network, ObjectNode plugin, JsonNode portMappings,
            JsonNode prevResult, Target target) {
        String type = plugin.get("type").asText();
        Path binary = find(network.name(), type);
        ProcessBuilder builder = new ProcessBuilder(runner.command(binary));
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(k -> k.startsWith("CNI_")); // nothing of the daemon's own may leak in
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", target.containerId());
        env.put("CNI_NETNS", target.netns().toString());
        env.put("CNI_IFNAME", target.ifName());
        env.put("CNI_PATH", pluginDirs.stream().map(Path::toString).collect(Collectors.joining(":")));
        try {
            byte[] input = json.writeValueAsBytes(stdin(network, plugin, portMappings, prevResult));
            Process process = builder.start();
            CompletableFuture<byte[]> stderr = CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
            IOException unread = null;
            try (OutputStream in = process.getOutputStream()) {
                in.write(input);
            } catch (IOException e) {
                // a plugin may refuse before it reads its config (the pipe breaks): its answer says why
                unread = e;
            }
            byte[] stdout = process.getInputStream().readAllBytes();
            int exit = process.waitFor();
            if (exit != 0) {
                throw failure(command, network, type, exit, stdout, stderr.join());
            }
            if (unread != null) {
                throw unread;
            }
            return stdout.length == 0 ? null : json.readTree(stdout);
        } catch (IOException e) {
            throw VesselException.internal("network '" + network.name() + "'",
                    "CNI plugin '" + type + "' (" + command + ") could not be run: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw VesselException.internal("network '" + network.name() + "'",
                    "interrupted while CNI plugin '" + type + "' ran " + command, e);
        }
    }

    private Path find(String network, String type) {
        if (type.isEmpty() || type.contains("/")) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "network '" + network + "'",
                    "plugin type '" + type + "' is not a plugin name");
        }
        return pluginDirs.stream().map(d -> d.resolve(type)).filter(Files::isExecutable).findFirst()
                .orElseThrow(() -> new VesselException(ErrorCode.FAILED_PRECONDITION, "network '" + network + "'",
                        "CNI plugin '" + type + "' is not installed in " + pluginDirs));
    }

    /** A plugin failed: its error object says why ({@code code}, {@code msg}, {@code details}). */
    private VesselException failure(String command, NetworkConfig network, String type, int exit, byte[] stdout,
            byte[] stderr) {
        JsonNode error;
        try {
            error = json.readTree(stdout);
        } catch (IOException e) {
            error = null;
        }
        String why;
        if (error != null && error.path("msg").isTextual()) {
            String details = error.path("details").asText("");
            why = "error " + error.path("code").asInt() + ": " + error.get("msg").asText()
                    + (details.isEmpty() ? "" : " (" + details + ")");
        } else {
            why = "exit status " + exit + ": " + new String(stderr, StandardCharsets.UTF_8).strip();
        }
        return new VesselException(ErrorCode.INTERNAL, "network '" + network.name() + "'",
                "CNI plugin '" + type + "' failed " + command + ": " + why);
    }

    private static byte[] readAll(java.io.InputStream stream) {
        try {
            return stream.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }
}
