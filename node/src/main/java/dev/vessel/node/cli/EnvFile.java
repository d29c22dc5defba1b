package dev.vessel.node.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * podman's {@code --env-file} and {@code --label-file} format: one {@code NAME=VALUE} a line, the value
 * taken as it is (no quotes, no expansion); blank lines and lines starting with {@code #} skipped; a bare
 * {@code NAME} left for the caller to complete (the host's value for a variable, empty for a label).
 */
final class EnvFile {
    /** One line's entry; {@code value} is null for a bare name. */
    record Entry(String name, String value) {
    }

    private EnvFile() {
    }

    /** The entries of {@code file}; a failure names {@code flag}, the file and the line. */
    static List<Entry> read(String flag, String file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of(file), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new CliFailure(flag + ": cannot read '" + file + "': no such file");
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new CliFailure(flag + ": cannot read '" + file + "': " + e.getMessage());
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String trimmed = line.strip();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            String name = (eq < 0 ? line : line.substring(0, eq)).strip();
            if (name.isEmpty() || name.chars().anyMatch(Character::isWhitespace)) {
                throw new CliFailure(flag + ": " + file + " line " + (i + 1) + ": '" + line
                        + "' must be NAME=VALUE or NAME");
            }
            entries.add(new Entry(name, eq < 0 ? null : line.substring(eq + 1)));
        }
        return entries;
    }
}
