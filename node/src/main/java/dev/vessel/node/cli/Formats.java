package dev.vessel.node.cli;

import picocli.CommandLine;

/** podman's {@code --format}: here {@code json}, or nothing for the table. */
final class Formats {
    private Formats() {
    }

    /** Whether {@code --format} asks for JSON; any format but json is refused naming the flag. */
    static boolean json(CommandLine.Model.CommandSpec spec, String format) {
        if (format == null || format.equals("table")) {
            return false;
        }
        if (format.equals("json")) {
            return true;
        }
        throw new CommandLine.ParameterException(spec.commandLine(), "--format: only json or table, not '" + format + "'");
    }
}
