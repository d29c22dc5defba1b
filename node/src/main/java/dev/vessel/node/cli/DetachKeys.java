package dev.vessel.node.cli;

import java.io.ByteArrayOutputStream;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code --detach-keys} of run, exec and attach, in podman's spelling: a comma-separated sequence of keys, each
 * a single character or {@code ctrl-X} (X one of a-z, @, [, \, ], ^, _); {@code ""} turns detaching off. The
 * default is Ctrl-P Ctrl-Q. Only a session with a remote terminal detaches: without one every byte is data.
 */
final class DetachKeys {
    static final String DEFAULT = "ctrl-p,ctrl-q";

    @Option(names = "--detach-keys", paramLabel = "KEYS", converter = Converter.class, defaultValue = DEFAULT,
            description = "the keys that detach and leave the process running: comma-separated characters or ctrl-X"
                    + " (a-z, @, [, \\, ], ^, _); \"\" for none (default: ${DEFAULT-VALUE})")
    private String keys; // checked by the converter (a byte[] would be taken for a repeatable option)

    /** The sequence that detaches; empty: none does. */
    byte[] sequence() {
        return parse(keys);
    }

    /** Parses podman's notation; the message of a refusal says what is wrong with which key. */
    static byte[] parse(String spec) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (spec.isEmpty()) {
            return out.toByteArray();
        }
        for (String key : spec.split(",", -1)) {
            if (key.length() == 1 && key.charAt(0) >= 0x20 && key.charAt(0) < 0x7f) {
                out.write(key.charAt(0));
            } else if (key.length() == "ctrl-x".length() && key.toLowerCase(Locale.ROOT).startsWith("ctrl-")) {
                out.write(control(Character.toLowerCase(key.charAt(5)), spec)); // any case, as podman's
            } else {
                throw new IllegalArgumentException(quoted(key) + " in " + quoted(spec) + " is not a key: a single"
                        + " character or ctrl-X, comma-separated");
            }
        }
        return out.toByteArray();
    }

    private static int control(char c, String spec) {
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 1;
        }
        int at = "@[\\]^_".indexOf(c);
        if (at < 0) {
            throw new IllegalArgumentException("ctrl-" + c + " in " + quoted(spec) + " is not a control key: ctrl-"
                    + "a to ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^ or ctrl-_");
        }
        return at == 0 ? 0 : 26 + at;
    }

    private static String quoted(String s) {
        return "'" + s + "'";
    }

    /** Refuses a bad value while the command line is parsed, so that picocli names the option. */
    static final class Converter implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
            return value;
        }
    }
}
