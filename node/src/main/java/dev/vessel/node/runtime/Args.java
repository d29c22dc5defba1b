package dev.vessel.node.runtime;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * runc's flags: {@code --name value}, {@code --name=value}, a boolean {@code --name}, single-dash long names
 * ({@code -root}) and one-letter aliases, the positional words apart. The global flags end at the command's
 * name; a command's flags may come between its positional words, as engines pass them.
 */
final class Args {
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> booleans = new HashSet<>();
    final List<String> positional = new ArrayList<>();

    /** Flag names without dashes; {@code aliases} maps a one-letter alias to its long name. */
    static Args parse(List<String> words, Set<String> valued, Set<String> flags, Map<String, String> aliases,
            boolean stopAtFirstWord) {
        Args args = new Args();
        for (int i = 0; i < words.size(); i++) {
            String word = words.get(i);
            if (!word.startsWith("-") || word.equals("-")) {
                args.positional.add(word);
                if (stopAtFirstWord) {
                    args.positional.addAll(words.subList(i + 1, words.size()));
                    return args;
                }
                continue;
            }
            if (word.equals("--")) {
                args.positional.addAll(words.subList(i + 1, words.size()));
                return args;
            }
            String name = word.replaceFirst("^--?", "");
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            name = aliases.getOrDefault(name, name);
            if (valued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= words.size()) {
                        throw new RuntimeFailure("flag needs an argument: --" + name);
                    }
                    value = words.get(++i);
                }
                args.values.put(name, value);
            } else if (flags.contains(name)) {
                if (value == null || value.equals("true")) {
                    args.booleans.add(name);
                } else if (!value.equals("false")) {
                    throw new RuntimeFailure("invalid boolean value " + JsonFields.quote(value) + " for --" + name);
                }
            } else {
                throw new RuntimeFailure("flag provided but not defined: " + word);
            }
        }
        return args;
    }

    String value(String name, String otherwise) {
        return values.getOrDefault(name, otherwise);
    }

    boolean has(String name) {
        return values.containsKey(name) || booleans.contains(name);
    }

    /** Exactly {@code count} positional words, else runc's usage error. */
    List<String> positional(String command, int count, String usage) {
        if (positional.size() != count) {
            throw new RuntimeFailure("\"" + command + "\" requires exactly " + count + " argument"
                    + (count == 1 ? "" : "s") + ": vessel-runtime " + command + " " + usage);
        }
        return positional;
    }
}
