package dev.vessel.isolators.volume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Docker volume plugin protocol (VolumeDriver API) spoken to one plugin, found as
 * {@code <pluginDir>/<driver>.sock}. Every call is a JSON POST; a reply whose {@code Err} is not empty
 * (or a non-2xx status) is a {@link VesselException} naming the driver, the volume and the endpoint.
 */
public final class VolumeDriverClient {
    /** A volume as the plugin describes it (Get, List). */
    public record VolumeInfo(String name, String mountpoint) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String driver;
    private final PluginHttpClient http;

    private VolumeDriverClient(String driver, PluginHttpClient http) {
        this.driver = driver;
        this.http = http;
    }

    /**
     * Finds the plugin's socket and activates it; refuses a plugin that does not implement
     * {@code VolumeDriver}.
     */
    public static VolumeDriverClient connect(Path pluginDir, String driver, Duration timeout) {
        if (driver.contains("/") || driver.startsWith(".")) {
            throw VesselException.invalid(null, "'" + driver + "' is not a Docker volume plugin name");
        }
        Path socket = pluginDir.resolve(driver + ".sock");
        if (!Files.exists(socket)) {
            throw new VesselException(ErrorCode.UNAVAILABLE, null, "no Docker volume plugin '" + driver
                    + "' on this node: its socket " + socket + " does not exist");
        }
        VolumeDriverClient client = new VolumeDriverClient(driver, new PluginHttpClient(socket, timeout));
        JsonNode implemented = client.call("/Plugin.Activate", null, Map.of()).path("Implements");
        List<String> kinds = new ArrayList<>();
        implemented.forEach(k -> kinds.add(k.asText()));
        if (!kinds.contains("VolumeDriver")) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, null, "Docker plugin '" + driver
                    + "' does not implement VolumeDriver (it implements " + kinds + ")");
        }
        return client;
    }

    public String driver() {
        return driver;
    }

    public void create(String name, Map<String, String> options) {
        call("/VolumeDriver.Create", name, Map.of("Name", name, "Opts", options));
    }

    /** The volume, or empty when the plugin does not know it (Get answers with an Err then). */
    public Optional<VolumeInfo> get(String name) {
        try {
            return Optional.of(info(call("/VolumeDriver.Get", name, Map.of("Name", name)).path("Volume")));
        } catch (PluginError e) {
            return Optional.empty();
        }
    }

    public List<VolumeInfo> list() {
        List<VolumeInfo> volumes = new ArrayList<>();
        call("/VolumeDriver.List", null, Map.of()).path("Volumes").forEach(v -> volumes.add(info(v)));
        return volumes;
    }

    /** Mounts the volume for one user, identified by {@code id}; returns the host path to bind. */
    public Path mount(String name, String id) {
        String mountpoint = call("/VolumeDriver.Mount", name, Map.of("Name", name, "ID", id)).path("Mountpoint").asText();
        Path path = Path.of(mountpoint);
        if (!path.isAbsolute()) {
            throw new VesselException(ErrorCode.INTERNAL, null, "Docker volume plugin '" + driver
                    + "' answered VolumeDriver.Mount of volume '" + name + "' with mountpoint '" + mountpoint
                    + "', not an absolute path");
        }
        return path;
    }

    /** Releases the mount made for {@code id}; the plugin unmounts when its last user is gone. */
    public void unmount(String name, String id) {
        call("/VolumeDriver.Unmount", name, Map.of("Name", name, "ID", id));
    }

    public void remove(String name) {
        call("/VolumeDriver.Remove", name, Map.of("Name", name));
    }

    public String path(String name) {
        return call("/VolumeDriver.Path", name, Map.of("Name", name)).path("Mountpoint").asText();
    }

    /** The plugin's scope: "local" (the default) or "global". */
    public String scope() {
        String scope = call("/VolumeDriver.Capabilities", null, Map.of()).path("Capabilities").path("Scope").asText();
        return scope.isEmpty() ? "local" : scope;
    }

    private static VolumeInfo info(JsonNode volume) {
        return new VolumeInfo(volume.path("Name").asText(), volume.path("Mountpoint").asText());
    }

    /** A reply with an Err: the plugin understood the call and refused it. */
    static final class PluginError extends VesselException {
        PluginError(String message) {
            super(ErrorCode.FAILED_PRECONDITION, null, message);
        }
    }

    private JsonNode call(String endpoint, String volume, Map<String, Object> body) {
        String what = "Docker volume plugin '" + driver + "'"
                + (volume == null ? "" : ", volume '" + volume + "'") + ", " + endpoint.substring(1);
        PluginHttpClient.Response response;
        JsonNode reply;
        try {
            response = http.post(endpoint, JSON.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, null, what + ": " + e.getMessage(), e);
        }
        try {
            reply = response.body().length == 0 ? JSON.createObjectNode() : JSON.readTree(response.body());
        } catch (IOException e) {
            throw new VesselException(ErrorCode.INTERNAL, null, what + ": the reply (HTTP " + response.status()
                    + ") is not JSON: " + e.getMessage(), e);
        }
        String err = reply.path("Err").asText("");
        if (!err.isEmpty()) {
            throw new PluginError(what + " failed: " + err);
        }
        if (response.status() / 100 != 2) {
            throw new VesselException(ErrorCode.INTERNAL, null, what + " failed with HTTP " + response.status());
        }
        return reply;
    }
}
