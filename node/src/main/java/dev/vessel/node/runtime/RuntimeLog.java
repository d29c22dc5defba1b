package dev.vessel.node.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Where vessel-runtime reports, as runc does: an error to stderr and, with {@code --log}, to that file as a
 * logrus line ({@code --log-format text}) or a JSON object ({@code --log-format json}:
 * {@code {"level":"error","msg":…,"time":…}}, which engines read the last error from). {@code --debug}
 * adds debug lines to the log.
 */
final class RuntimeLog {
    private final Path file;
    private final boolean json;
    private final boolean debug;

    RuntimeLog(Path file, String format, boolean debug) {
        if (!format.equals("text") && !format.equals("json")) {
            throw new RuntimeFailure("invalid log format " + JsonFields.quote(format) + ": text or json");
        }
        this.file = file;
        this.json = format.equals("json");
        this.debug = debug;
    }

    /** The global flags that make a child runtime process (a shim) report here too, on {@code root}. */
    List<String> flags(Path root) {
        List<String> flags = new ArrayList<>(List.of("--root", root.toString()));
        if (file != null) {
            flags.addAll(List.of("--log", file.toAbsolutePath().toString(), "--log-format", json ? "json" : "text"));
        }
        if (debug) {
            flags.add("--debug");
        }
        return flags;
    }

    void error(String message) {
        System.err.println(message);
        write("error", message);
    }

    void debug(String message) {
        if (debug) {
            write("debug", message);
        }
    }

    private void write(String level, String message) {
        if (file == null) {
            return;
        }
        String time = Instant.now().toString();
        String line = json ? "{\"level\":\"" + level + "\",\"msg\":" + JsonFields.quote(message) + ",\"time\":\"" + time
                + "\"}\n" : "time=\"" + time + "\" level=" + level + " msg=" + JsonFields.quote(message) + "\n";
        try {
            Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.err.println("vessel-runtime: cannot write the log " + file + ": " + e.getMessage());
        }
    }
}
