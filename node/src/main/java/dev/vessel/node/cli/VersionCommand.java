package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code vessel version}: the CLI's version and the daemon's, as podman's (its {@code --format json} keys too).
 * The client's part is printed even when the daemon cannot be reached; the command then fails.
 */
@Command(name = "version", mixinStandardHelpOptions = true, description = "Show the versions of the CLI and the daemon.")
final class VersionCommand implements Callable<Integer> {
    static final String API_VERSION = "v1";

    @ParentCommand
    private Vessel vessel;
    @Spec
    private CommandLine.Model.CommandSpec spec;
    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT", description = "json: one JSON object")
    private String format;

    @Override
    public Integer call() {
        if (format != null && !format.equals("json")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--format: '" + format + "' is not known"
                    + " (known: json)");
        }
        ObjectNode all = CliJson.JSON.createObjectNode();
        all.putObject("Client").put("Version", clientVersion()).put("APIVersion", API_VERSION)
                .put("JavaVersion", System.getProperty("java.version"))
                .put("OsArch", "linux/" + System.getProperty("os.arch"));
        JsonNode info;
        try {
            info = vessel.client().call("GET", "/v1/info", null);
        } catch (CliFailure e) {
            print(all);
            throw new CliFailure("the daemon's version: " + e.getMessage());
        }
        all.putObject("Server").put("Version", info.path("version").asText()).put("APIVersion", API_VERSION)
                .put("JavaVersion", info.path("java_version").asText()).put("Kernel", info.path("kernel").asText());
        print(all);
        return 0;
    }

    private void print(ObjectNode all) {
        if (format != null) {
            vessel.out.println(all.toPrettyString());
            return;
        }
        boolean first = true;
        for (var part : all.properties()) {
            if (!first) {
                vessel.out.println();
            }
            first = false;
            vessel.out.println(part.getKey() + ":");
            for (var field : part.getValue().properties()) {
                String name = switch (field.getKey()) {
                    case "APIVersion" -> "API Version";
                    case "JavaVersion" -> "Java Version";
                    case "OsArch" -> "OS/Arch";
                    default -> field.getKey();
                };
                vessel.out.printf("%-13s %s%n", name + ":", field.getValue().asText());
            }
        }
    }

    /** The jar's version; "dev" when run from classes, as the daemon says. */
    static String clientVersion() {
        String v = VersionCommand.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }
}
