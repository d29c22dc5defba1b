package dev.vessel.provisioner.registry;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** One {@code WWW-Authenticate} challenge: a scheme (basic, bearer) and its parameters (realm, service, scope). */
public record AuthChallenge(String scheme, Map<String, String> params) {
    public AuthChallenge {
        scheme = scheme.toLowerCase(Locale.ROOT);
        params = Map.copyOf(params);
    }

    public String param(String name) {
        return params.get(name);
    }

    /** The challenge to answer among a response's headers: Bearer preferred over Basic, others ignored. */
    public static Optional<AuthChallenge> choose(List<String> headers) {
        AuthChallenge basic = null;
        for (String header : headers) {
            AuthChallenge c = parse(header);
            if (c.scheme().equals("bearer") && c.param("realm") != null) {
                return Optional.of(c);
            }
            if (c.scheme().equals("basic")) {
                basic = c;
            }
        }
        return Optional.ofNullable(basic);
    }

    /** Parses {@code Scheme k1="v1",k2=v2}, with backslash escapes inside quotes. */
    static AuthChallenge parse(String header) {
        String h = header.strip();
        int space = h.indexOf(' ');
        String scheme = space < 0 ? h : h.substring(0, space);
        Map<String, String> params = new HashMap<>();
        int i = space < 0 ? h.length() : space + 1;
        while (i < h.length()) {
            int eq = h.indexOf('=', i);
            if (eq < 0) {
                break;
            }
            String key = h.substring(i, eq).strip().toLowerCase(Locale.ROOT);
            StringBuilder value = new StringBuilder();
            i = eq + 1;
            if (i < h.length() && h.charAt(i) == '"') {
                for (i++; i < h.length() && h.charAt(i) != '"'; i++) {
                    if (h.charAt(i) == '\\' && i + 1 < h.length()) {
                        i++;
                    }
                    value.append(h.charAt(i));
                }
                i++;
            } else {
                for (; i < h.length() && h.charAt(i) != ','; i++) {
                    value.append(h.charAt(i));
                }
            }
            params.put(key, value.toString().strip());
            while (i < h.length() && (h.charAt(i) == ',' || h.charAt(i) == ' ')) {
                i++;
            }
        }
        return new AuthChallenge(scheme, params);
    }
}
