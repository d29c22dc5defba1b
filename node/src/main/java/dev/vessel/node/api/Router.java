package dev.vessel.node.api;

import dev.vessel.core.error.Quoted;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Method + path to handler. Patterns are segments with {@code {name}} parameters; a last
 * {@code {*name}} takes the rest of the path, slashes included (image references have them).
 * Segments are decoded after splitting, so an encoded {@code %2F} stays inside its parameter.
 */
final class Router {
    /** Serves one route; runs on a virtual thread, may block. */
    @FunctionalInterface
    interface Handler {
        void handle(Exchange exchange) throws Exception;
    }

    record Match(Handler handler, Map<String, String> params) {
    }

    private record Route(HttpMethod method, String[] pattern, Handler handler) {
    }

    private final List<Route> routes = new ArrayList<>();

    Router add(HttpMethod method, String pattern, Handler handler) {
        routes.add(new Route(method, pattern.substring(1).split("/"), handler));
        return this;
    }

    /** The route for this request, or an {@link HttpError}: 404 for an unknown path, 405 for a known path and another method. */
    Match route(HttpMethod method, String rawPath) {
        String[] segments = (rawPath.startsWith("/") ? rawPath.substring(1) : rawPath).split("/", -1);
        boolean pathKnown = false;
        for (Route route : routes) {
            Map<String, String> params = match(route.pattern, segments);
            if (params == null) {
                continue;
            }
            if (route.method.equals(method)) {
                return new Match(route.handler, params);
            }
            pathKnown = true;
        }
        if (pathKnown) {
            throw new HttpError(HttpResponseStatus.METHOD_NOT_ALLOWED, "INVALID_ARGUMENT", "method",
                    method + " is not allowed on " + Quoted.of(rawPath));
        }
        throw new HttpError(HttpResponseStatus.NOT_FOUND, "NOT_FOUND", "path", "no API endpoint " + Quoted.of(rawPath));
    }

    private static Map<String, String> match(String[] pattern, String[] segments) {
        Map<String, String> params = new HashMap<>();
        for (int i = 0; i < pattern.length; i++) {
            String p = pattern[i];
            if (p.startsWith("{*")) {
                if (i >= segments.length) {
                    return null;
                }
                List<String> rest = new ArrayList<>();
                for (int j = i; j < segments.length; j++) {
                    rest.add(QueryStringDecoder.decodeComponent(segments[j]));
                }
                String value = String.join("/", rest);
                if (value.isEmpty()) {
                    return null;
                }
                params.put(p.substring(2, p.length() - 1), value);
                return params;
            }
            if (i >= segments.length) {
                return null;
            }
            String segment = QueryStringDecoder.decodeComponent(segments[i]);
            if (p.startsWith("{")) {
                if (segment.isEmpty()) {
                    return null;
                }
                params.put(p.substring(1, p.length() - 1), segment);
            } else if (!p.equals(segment)) {
                return null;
            }
        }
        return pattern.length == segments.length ? params : null;
    }
}
