package dev.vessel.node.cli;

import dev.vessel.node.daemon.Vesseld;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Writes the CLI's bash completion (picocli's {@link AutoComplete}) and a man page per command (troff, from the
 * same annotations as {@code --help}) for the package: {@code CliDocs OUT} makes {@code OUT/bash-completion/vessel}
 * and {@code OUT/man1/*.1}. Troff directly, because picocli's own generator writes asciidoc, which needs
 * asciidoctor to become a man page.
 */
public final class CliDocs {
    private CliDocs() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: CliDocs OUTPUT-DIRECTORY");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        CommandLine vessel = vessel();
        Path completion = Files.createDirectories(out.resolve("bash-completion")).resolve("vessel");
        Files.writeString(completion, AutoComplete.bash("vessel", vessel));
        Path man = Files.createDirectories(out.resolve("man1"));
        writePages(vessel, man);
        writePages(new CommandLine(new Vesseld()), man);
    }

    /** The whole CLI: every subcommand registered, as the help lists them. */
    static CommandLine vessel() {
        PrintStream none = new PrintStream(OutputStream.nullOutputStream());
        CommandLine cli = new CommandLine(new Vessel(none, none, new ByteArrayInputStream(new byte[0]), false, Map.of()));
        Vessel.allSubcommands().forEach(cli::addSubcommand);
        return cli;
    }

    private static void writePages(CommandLine command, Path dir) throws IOException {
        CommandSpec spec = command.getCommandSpec();
        String name = spec.qualifiedName("-");
        Files.writeString(dir.resolve(name + ".1"), page(spec));
        for (CommandLine sub : command.getSubcommands().values()) {
            if (sub.getCommandSpec().parent() == spec) { // aliases name the same command again
                writePages(sub, dir);
            }
        }
    }

    static String page(CommandSpec spec) {
        StringBuilder page = new StringBuilder();
        String description = String.join(" ", spec.usageMessage().description());
        page.append(".TH ").append(spec.qualifiedName("-").toUpperCase(java.util.Locale.ROOT)).append(" 1 \"\" Vessel\n")
                .append(".SH NAME\n").append(text(spec.qualifiedName("-"))).append(" \\- ").append(text(description))
                .append('\n');
        String synopsis = new CommandLine.Help(spec, new CommandLine.Help.ColorScheme.Builder(CommandLine.Help.Ansi.OFF)
                .build()).synopsis(0).strip();
        page.append(".SH SYNOPSIS\n.nf\n").append(text(synopsis)).append("\n.fi\n");
        page.append(".SH DESCRIPTION\n").append(text(description)).append('\n');
        if (!spec.positionalParameters().isEmpty()) {
            page.append(".SH ARGUMENTS\n");
            spec.positionalParameters().forEach(p -> page.append(".TP\n.I ").append(text(p.paramLabel())).append('\n')
                    .append(text(String.join(" ", p.description()))).append('\n'));
        }
        if (!spec.options().isEmpty()) {
            page.append(".SH OPTIONS\n");
            for (OptionSpec option : spec.options()) {
                if (option.hidden()) {
                    continue;
                }
                String names = String.join(", ", option.names());
                page.append(".TP\n.B ").append(text(names));
                if (option.arity().max() > 0) {
                    page.append(" \\fI").append(text(option.paramLabel())).append("\\fR");
                }
                page.append('\n').append(text(String.join(" ", option.description())
                        .replace("${DEFAULT-VALUE}", String.valueOf(option.defaultValueString()))
                        .replace("${COMPLETION-CANDIDATES}", option.completionCandidates() == null ? ""
                                : String.join(", ", option.completionCandidates())))).append('\n');
            }
        }
        var subcommands = spec.subcommands().values().stream().filter(c -> c.getCommandSpec().parent() == spec)
                .toList();
        if (!subcommands.isEmpty()) {
            page.append(".SH COMMANDS\n");
            for (CommandLine sub : subcommands) {
                CommandSpec s = sub.getCommandSpec();
                page.append(".TP\n.B ").append(text(s.name())).append('\n')
                        .append(text(String.join(" ", s.usageMessage().description()))).append('\n');
            }
            page.append(".SH SEE ALSO\n").append(subcommands.stream()
                    .map(c -> "\\fB" + text(c.getCommandSpec().qualifiedName("-")) + "\\fR(1)")
                    .collect(Collectors.joining(",\n"))).append('\n');
        }
        return page.toString();
    }

    /** Text safe in a troff line: backslashes and hyphens escaped, no line starting as a request. */
    private static String text(String s) {
        String escaped = s.replace("\\", "\\e").replace("-", "\\-");
        return escaped.lines().map(line -> line.startsWith(".") || line.startsWith("'") ? "\\&" + line : line)
                .collect(Collectors.joining("\n"));
    }
}
