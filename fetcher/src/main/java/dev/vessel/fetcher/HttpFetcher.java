package dev.vessel.fetcher;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * Fetches http and https URIs, following redirects (never from https down to http). Revalidation
 * sends the recorded ETag (If-None-Match) or else Last-Modified (If-Modified-Since).
 */
public final class HttpFetcher extends CachingFetcher {
    private static final int NOT_MODIFIED = 304;
    /** A recorded validator is "etag:<value>" or "date:<value>", so revalidation knows which header to send. */
    private static final String ETAG = "etag:";
    private static final String DATE = "date:";

    private final HttpClient client;
    private final Duration responseTimeout;

    /** {@code responseTimeout} bounds the wait for the response headers, not the download of the body. */
    public HttpFetcher(ArtifactCache cache, Duration connectTimeout, Duration responseTimeout) {
        super(cache);
        this.responseTimeout = responseTimeout;
        this.client = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(connectTimeout)
                .build();
    }

    @Override
    public Set<String> schemes() {
        return Set.of("http", "https");
    }

    @Override
    public Response open(URI uri, Optional<UriIndex.Entry> known) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(responseTimeout).GET();
        known.map(UriIndex.Entry::validator).ifPresent(v -> {
            if (v.startsWith(ETAG)) {
                request.header("If-None-Match", v.substring(ETAG.length()));
            } else if (v.startsWith(DATE)) {
                request.header("If-Modified-Since", v.substring(DATE.length()));
            }
        });
        HttpResponse<InputStream> response = client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        int status = response.statusCode();
        if (status == NOT_MODIFIED && known.isPresent()) {
            response.body().close();
            return new NotModified();
        }
        if (status / 100 != 2) {
            response.body().close();
            throw statusError(uri, response.uri(), status);
        }
        HttpHeaders headers = response.headers();
        return new Body(response.body(), headers.firstValueAsLong("Content-Length").orElse(-1), validator(headers));
    }

    private static String validator(HttpHeaders headers) {
        return headers.firstValue("ETag").map(v -> ETAG + v)
                .or(() -> headers.firstValue("Last-Modified").map(v -> DATE + v))
                .orElse("");
    }

    private static VesselException statusError(URI asked, URI answered, int status) {
        ErrorCode code = switch (status) {
            case 404, 410 -> ErrorCode.NOT_FOUND;
            case 429, 500, 502, 503, 504 -> ErrorCode.UNAVAILABLE;
            default -> ErrorCode.FAILED_PRECONDITION;
        };
        String where = answered.equals(asked) ? "" : " (redirected to '" + answered + "')";
        return new VesselException(code, asked.toString(), "GET '" + asked + "'" + where + " answered HTTP " + status);
    }
}
