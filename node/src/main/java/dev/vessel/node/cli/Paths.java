package dev.vessel.node.cli;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** URL path segments: ids and image references ({@code oci:/path:tag}) may hold any character. */
final class Paths {
    private Paths() {
    }

    static String segment(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
