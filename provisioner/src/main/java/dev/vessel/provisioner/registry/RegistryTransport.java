package dev.vessel.provisioner.registry;

import java.io.IOException;
import dev.vessel.provisioner.limits.CappedReads;
import dev.vessel.provisioner.limits.ProvisionerLimits;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * HTTP to registries: HTTPS by default, plain HTTP only to loopback registries (127.0.0.0/8, ::1, localhost)
 * or those configured insecure; answers auth challenges once per request; retries connection errors, 429
 * and 5xx with exponential backoff; follows redirects itself so that credentials never leave for another host.
 * Metadata bodies (manifests, token responses) are read only up to the {@link ProvisionerLimits} caps.
 */
public final class RegistryTransport {
    private static final Pattern IPV4_LOOPBACK = Pattern.compile("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    private static final int MAX_REDIRECTS = 5;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

    /**
     * @param insecureRegistries registries ({@code host[:port]}) reached over plain HTTP
     * @param maxAttempts        tries per request, at least 1
     * @param firstBackoff       wait before the second try; doubled for each further one
     */
    public record Options(Set<String> insecureRegistries, int maxAttempts, Duration firstBackoff) {
        public static final Options DEFAULTS = new Options(Set.of(), 4, Duration.ofMillis(200));
    }

    private final HttpClient http;
    private final RegistryAuthenticator authenticator;
    private final Options options;
    private final ProvisionerLimits limits;

    public RegistryTransport(CredentialsProvider credentials, Options options) {
        this(credentials, options, ProvisionerLimits.DEFAULTS);
    }

    public RegistryTransport(CredentialsProvider credentials, Options options, ProvisionerLimits limits) {
        this(HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER)
                .build(), credentials, options, limits);
    }

    private RegistryTransport(HttpClient http, CredentialsProvider credentials, Options options, ProvisionerLimits limits) {
        this.http = http;
        this.authenticator = new RegistryAuthenticator(http, credentials, limits.maxTokenResponseBytes());
        this.options = options;
        this.limits = limits;
    }

    /**
     * This transport's connections with other credentials and an authenticator of its own: for one pull whose
     * caller gave its credentials, whose tokens then go with it instead of serving later pulls.
     */
    public RegistryTransport withCredentials(CredentialsProvider credentials) {
        return new RegistryTransport(http, credentials, options, limits);
    }

    /** The body of a metadata document (a manifest or index), refused past the document cap unread. */
    byte[] readDocument(HttpResponse<InputStream> response, String document) throws IOException {
        return CappedReads.read(response.body(), limits.maxDocumentBytes(), document);
    }

    /** Is {@code host} (a name or literal, with or without port or brackets) this machine's loopback? */
    public static boolean isLoopback(String host) {
        String h = host;
        if (h.startsWith("[")) {
            h = h.substring(1, h.indexOf(']'));
        } else if (h.indexOf(':') == h.lastIndexOf(':') && h.indexOf(':') >= 0) {
            h = h.substring(0, h.indexOf(':'));
        }
        return h.equals("localhost") || h.equals("::1") || IPV4_LOOPBACK.matcher(h).matches();
    }

    URI baseUri(String registry) {
        boolean plain = isLoopback(registry) || options.insecureRegistries().contains(registry);
        return URI.create((plain ? "http://" : "https://") + registry);
    }

    /**
     * GETs {@code path} (starting with {@code /v2/}) from {@code registry}. {@code repository} (null for the
     * ping) selects the token scope. Returns any final status but 401 (an error once answered), 429 and 5xx
     * (retried); the caller handles 200 and 404.
     */
    public <T> HttpResponse<T> get(String registry, String repository, String path, Map<String, String> headers,
                                   HttpResponse.BodyHandler<T> handler) throws IOException, InterruptedException {
        boolean answeredChallenge = false;
        for (int attempt = 1; ; attempt++) {
            HttpResponse<T> response;
            try {
                response = follow(registry, repository, baseUri(registry).resolve(path), headers, handler);
            } catch (IOException e) {
                if (attempt >= options.maxAttempts()) {
                    throw RegistryErrors.unavailable(registry, "unreachable (" + e + ") after "
                            + attempt + " tries of GET " + path, e);
                }
                backoff(attempt);
                continue;
            }
            int status = response.statusCode();
            if (status == 401) {
                close(response);
                if (answeredChallenge || !authenticator.learn(registry, response.headers().allValues("WWW-Authenticate"))) {
                    throw RegistryErrors.unauthorized(registry, "the registry refused "
                            + (answeredChallenge ? "our credentials" : "the request and sent no challenge we can answer")
                            + " for GET " + path);
                }
                answeredChallenge = true;
                attempt--;
                continue;
            }
            if (status == 429 || status >= 500) {
                close(response);
                if (attempt >= options.maxAttempts()) {
                    throw RegistryErrors.unavailable(registry, "answered " + status + " to GET " + path
                            + " " + attempt + " times", null);
                }
                backoff(attempt);
                continue;
            }
            return response;
        }
    }

    /** One request, following redirects; the Authorization header goes only to the registry itself. */
    private <T> HttpResponse<T> follow(String registry, String repository, URI uri, Map<String, String> headers,
                                       HttpResponse.BodyHandler<T> handler) throws IOException, InterruptedException {
        URI registryUri = baseUri(registry);
        for (int hop = 0; ; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).GET();
            if (uri.getScheme().equals("http")) {
                // plain HTTP: no h2c upgrade attempt, which costs a round of headers on every connection
                request.version(HttpClient.Version.HTTP_1_1);
            }
            headers.forEach(request::header);
            if (sameOrigin(uri, registryUri)) {
                authenticator.authorization(registry, repository).ifPresent(a -> request.header("Authorization", a));
            }
            HttpResponse<T> response = http.send(request.build(), handler);
            int status = response.statusCode();
            if (status < 300 || status >= 400 || status == 304) {
                return response;
            }
            close(response);
            String path = uri.getPath();
            String location = response.headers().firstValue("Location").orElseThrow(() -> RegistryErrors.unavailable(
                    registry, "answered " + status + " without a Location to GET " + path, null));
            URI next = uri.resolve(location);
            if (hop >= MAX_REDIRECTS) {
                throw RegistryErrors.unavailable(registry, "more than " + MAX_REDIRECTS + " redirects for " + uri.getPath(), null);
            }
            if (uri.getScheme().equals("https") && !next.getScheme().equals("https") && !isLoopback(next.getHost())) {
                throw RegistryErrors.unavailable(registry, "redirect from HTTPS to " + next + " refused", null);
            }
            uri = next;
        }
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equals(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost()) && a.getPort() == b.getPort();
    }

    private void backoff(int attempt) throws InterruptedException {
        Thread.sleep(options.firstBackoff().multipliedBy(1L << (attempt - 1)));
    }

    /** Releases the connection of a response we do not read. */
    static void close(HttpResponse<?> response) throws IOException {
        if (response.body() instanceof InputStream in) {
            in.close();
        }
    }
}
