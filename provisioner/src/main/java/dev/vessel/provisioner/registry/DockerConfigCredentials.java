package dev.vessel.provisioner.registry;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vessel.core.error.VesselException;
import dev.vessel.provisioner.image.Json;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Credentials from Docker's {@code config.json}: {@code auths.<registry>.auth} (base64 "user:pass") or its
 * {@code username}/{@code password} fields. Keys may carry a scheme and path ({@code https://index.docker.io/v1/}).
 * Credential helpers ({@code credsStore}, {@code credHelpers}) are not run.
 */
public final class DockerConfigCredentials implements CredentialsProvider {
    private static final Set<String> DOCKER_HUB_ALIASES =
            Set.of("docker.io", "index.docker.io", ImageReferenceParser.DOCKER_HUB);

    private final Map<String, Credentials> byRegistry;

    private DockerConfigCredentials(Map<String, Credentials> byRegistry) {
        this.byRegistry = byRegistry;
    }

    /** {@code $DOCKER_CONFIG/config.json}, else {@code ~/.docker/config.json}. */
    public static Path defaultLocation(Map<String, String> env) {
        String dockerConfig = env.get("DOCKER_CONFIG");
        if (dockerConfig != null && !dockerConfig.isEmpty()) {
            return Path.of(dockerConfig, "config.json");
        }
        return Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".docker", "config.json");
    }

    /** Reads {@code file}; a missing file means no credentials. */
    public static DockerConfigCredentials load(Path file) throws IOException {
        Map<String, Credentials> byRegistry = new HashMap<>();
        if (!Files.exists(file)) {
            return new DockerConfigCredentials(byRegistry);
        }
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(Files.readAllBytes(file));
        } catch (JacksonException e) {
            // the location, not the parser's message: that quotes the text around the error, which may be a secret
            var at = e.getLocation();
            throw VesselException.invalid(file.toString(), "is not valid JSON"
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
        }
        for (Map.Entry<String, JsonNode> e : root.path("auths").properties()) {
            credentials(file, e.getKey(), e.getValue()).ifPresent(c -> byRegistry.put(normalize(e.getKey()), c));
        }
        return new DockerConfigCredentials(byRegistry);
    }

    @Override
    public Optional<Credentials> forRegistry(String registry) {
        return Optional.ofNullable(byRegistry.get(normalize(registry)));
    }

    private static Optional<Credentials> credentials(Path file, String key, JsonNode entry) {
        String auth = entry.path("auth").asText("");
        if (!auth.isEmpty()) {
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(auth), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw VesselException.invalid(file + " auths." + key + ".auth", "is not valid base64");
            }
            int colon = decoded.indexOf(':');
            if (colon < 0) {
                throw VesselException.invalid(file + " auths." + key + ".auth", "must encode \"user:password\"");
            }
            return Optional.of(new Credentials(decoded.substring(0, colon), decoded.substring(colon + 1)));
        }
        String user = entry.path("username").asText("");
        return user.isEmpty() ? Optional.empty() : Optional.of(new Credentials(user, entry.path("password").asText("")));
    }

    /**
     * The registry an {@code auths} key names: {@code https://index.docker.io/v1/} and {@code registry-1.docker.io}
     * name the same registry, {@code docker.io}.
     */
    public static String normalize(String key) {
        String host = key.replaceFirst("^[a-zA-Z][a-zA-Z0-9+.-]*://", "");
        int slash = host.indexOf('/');
        host = slash < 0 ? host : host.substring(0, slash);
        return DOCKER_HUB_ALIASES.contains(host) ? "docker.io" : host;
    }
}
