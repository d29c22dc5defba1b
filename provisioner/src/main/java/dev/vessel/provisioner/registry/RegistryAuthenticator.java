package dev.vessel.provisioner.registry;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vessel.provisioner.image.Json;
import dev.vessel.provisioner.limits.CappedReads;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Answers registry auth challenges: learns each registry's {@code WWW-Authenticate} challenge from a 401, then
 * sends Basic credentials, or a Bearer token fetched from the challenge's realm (with the credentials, if any)
 * and cached per registry, scope and credentials until shortly before it expires: a token got with one user's
 * credentials never serves a request made with other credentials or none.
 */
public final class RegistryAuthenticator {
    private static final Duration DEFAULT_TOKEN_LIFETIME = Duration.ofSeconds(60);
    private static final Duration EXPIRY_MARGIN = Duration.ofSeconds(10);

    private record Token(String value, Instant expires) {
    }

    private final HttpClient http;
    private final CredentialsProvider credentials;
    private final long maxTokenResponseBytes;
    private final Map<String, AuthChallenge> challenges = new ConcurrentHashMap<>();
    private final Map<String, Token> tokens = new ConcurrentHashMap<>();

    /** {@code maxTokenResponseBytes}: a token realm's answer is read up to this and refused past it. */
    public RegistryAuthenticator(HttpClient http, CredentialsProvider credentials, long maxTokenResponseBytes) {
        this.http = http;
        this.credentials = credentials;
        this.maxTokenResponseBytes = maxTokenResponseBytes;
    }

    /** Remembers the challenge of a 401 from {@code registry}; false when there is none we can answer. */
    public boolean learn(String registry, List<String> wwwAuthenticate) {
        Optional<AuthChallenge> challenge = AuthChallenge.choose(wwwAuthenticate);
        challenge.ifPresent(c -> challenges.put(registry, c));
        return challenge.isPresent();
    }

    /**
     * The {@code Authorization} header for a request to {@code registry} about {@code repository} (null for
     * the ping), or empty while the registry has not asked for authentication.
     */
    public Optional<String> authorization(String registry, String repository) throws IOException, InterruptedException {
        AuthChallenge challenge = challenges.get(registry);
        if (challenge == null) {
            return Optional.empty();
        }
        Optional<Credentials> creds = credentials.forRegistry(registry);
        if (challenge.scheme().equals("basic")) {
            Credentials c = creds.orElseThrow(() -> RegistryErrors.unauthorized(registry,
                    "the registry asks for a user name and password and none are configured for it"));
            return Optional.of(basic(c));
        }
        String scope = repository == null ? challenge.param("scope") : "repository:" + repository + ":pull";
        String key = registry + " " + scope + " " + creds.map(RegistryAuthenticator::fingerprint).orElse("anonymous");
        Token token = tokens.get(key);
        if (token == null || Instant.now().isAfter(token.expires())) {
            token = fetchToken(registry, challenge, scope, creds);
            tokens.put(key, token);
        }
        return Optional.of("Bearer " + token.value());
    }

    private Token fetchToken(String registry, AuthChallenge challenge, String scope, Optional<Credentials> creds)
            throws IOException, InterruptedException {
        StringBuilder query = new StringBuilder();
        for (String name : new String[] {"service", "scope"}) {
            String value = name.equals("scope") ? scope : challenge.param(name);
            if (value != null) {
                query.append(query.isEmpty() ? "" : "&").append(name).append('=')
                        .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
            }
        }
        String realm = challenge.param("realm");
        URI uri = URI.create(realm + (query.isEmpty() ? "" : (realm.contains("?") ? "&" : "?") + query));
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET();
        if (creds.isPresent()) {
            // Credentials travel only over TLS or to this machine.
            if (!uri.getScheme().equals("https") && !RegistryTransport.isLoopback(uri.getHost())) {
                throw RegistryErrors.unauthorized(registry, "token realm " + realm + " is not HTTPS; credentials not sent");
            }
            request.header("Authorization", basic(creds.get()));
        }
        HttpResponse<InputStream> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw RegistryErrors.unavailable(registry, "token realm " + realm + " is unreachable: " + e, e);
        }
        if (response.statusCode() != 200) {
            RegistryTransport.close(response);
        }
        if (response.statusCode() == 401 || response.statusCode() == 403) {
            throw RegistryErrors.unauthorized(registry, "token realm " + realm + " refused "
                    + (creds.isPresent() ? "the credentials of user '" + creds.get().username() + "'" : "anonymous access")
                    + " for scope " + scope);
        }
        if (response.statusCode() != 200) {
            throw RegistryErrors.unavailable(registry, "token realm " + realm + " answered " + response.statusCode(), null);
        }
        JsonNode body = Json.MAPPER.readTree(CappedReads.read(response.body(), maxTokenResponseBytes,
                "token response from realm " + realm));
        String token = body.path("token").asText(body.path("access_token").asText(""));
        if (token.isEmpty()) {
            throw RegistryErrors.unavailable(registry, "token realm " + realm + " returned no token", null);
        }
        long lifetime = body.path("expires_in").asLong(DEFAULT_TOKEN_LIFETIME.toSeconds());
        return new Token(token, Instant.now().plusSeconds(lifetime).minus(EXPIRY_MARGIN));
    }

    /** Names credentials in the token cache's keys without keeping the password there. */
    private static String fingerprint(Credentials c) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest((c.username() + "\0" + c.password()).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String basic(Credentials c) {
        return "Basic " + Base64.getEncoder().encodeToString(
                (c.username() + ":" + c.password()).getBytes(StandardCharsets.UTF_8));
    }
}
