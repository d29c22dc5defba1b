package dev.vessel.node.runtime;

import java.util.OptionalLong;

/**
 * The few fields vessel-runtime reads from vesseld's answers, found by name in the flat JSON the daemon
 * writes, and JSON strings for its requests: a JSON library would cost each call more start-up than the
 * call itself. Also the CLI's lean path ({@code cli.LeanCli}), for the same reason.
 */
public final class JsonFields {
    private JsonFields() {
    }

    /** The first string member named {@code name}, unescaped; empty when there is none. */
    public static String string(String json, String name) {
        int at = valueStart(json, name);
        if (at < 0 || at >= json.length() || json.charAt(at) != '"') {
            return "";
        }
        StringBuilder value = new StringBuilder();
        for (int i = at + 1; i < json.length(); i++) {
            char c = json.charAt(i);
            if (c == '"') {
                return value.toString();
            }
            if (c == '\\' && i + 1 < json.length()) {
                char e = json.charAt(++i);
                switch (e) {
                    case 'n' -> value.append('\n');
                    case 't' -> value.append('\t');
                    case 'r' -> value.append('\r');
                    case 'b' -> value.append('\b');
                    case 'f' -> value.append('\f');
                    case 'u' -> {
                        value.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16));
                        i += 4;
                    }
                    default -> value.append(e);
                }
            } else {
                value.append(c);
            }
        }
        return "";
    }

    private static int valueStart(String json, String name) {
        int key = json.indexOf("\"" + name + "\"");
        if (key < 0) {
            return -1;
        }
        int colon = json.indexOf(':', key + name.length() + 2);
        int at = colon + 1;
        while (at < json.length() && Character.isWhitespace(json.charAt(at))) {
            at++;
        }
        return colon < 0 ? -1 : at;
    }

    /** The first integer member named {@code name}; empty when there is none. */
    public static OptionalLong integer(String json, String name) {
        int at = valueStart(json, name);
        int end = at;
        while (at >= 0 && end < json.length() && (Character.isDigit(json.charAt(end)) || (end == at && json.charAt(end) == '-'))) {
            end++;
        }
        try {
            return at < 0 || end == at ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(json.substring(at, end)));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** {@code s} as a JSON string literal. */
    public static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
