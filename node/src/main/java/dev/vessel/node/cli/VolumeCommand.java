package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code vessel volume}: named volumes ({@code /v1/volumes}), which {@code vessel run -v NAME:/dst} mounts (and
 * creates when missing), in podman's spelling.
 */
@Command(name = "volume", mixinStandardHelpOptions = true, description = "Manage named volumes (vessel run -v"
        + " NAME:/dst mounts one).", subcommands = {VolumeCommand.Create.class, VolumeCommand.Ls.class,
        VolumeCommand.Inspect.class, VolumeCommand.Rm.class, VolumeCommand.Prune.class})
final class VolumeCommand implements Runnable {
    @ParentCommand
    Vessel vessel;
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand: create, ls, inspect, rm or prune");
    }

    private static String path(String name) {
        return "/v1/volumes/" + Paths.segment(name);
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a named volume (a random name"
            + " without NAME); prints its name.")
    static final class Create implements Callable<Integer> {
        @ParentCommand
        private VolumeCommand volume;
        @Spec
        private CommandLine.Model.CommandSpec spec;
        @Parameters(paramLabel = "NAME", arity = "0..1")
        private String name;
        @Option(names = {"-l", "--label"}, paramLabel = "KEY=VALUE", description = "a label (repeatable)")
        private List<String> labels = List.of();

        @Override
        public Integer call() {
            ObjectNode body = CliJson.JSON.createObjectNode();
            if (name != null) {
                body.put("name", name);
            }
            Map<String, String> parsed = new LinkedHashMap<>();
            for (String label : labels) {
                int eq = label.indexOf('=');
                String key = eq < 0 ? label : label.substring(0, eq);
                if (key.isEmpty()) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--label: '" + label
                            + "' has no key: give KEY=VALUE");
                }
                parsed.put(key, eq < 0 ? "" : label.substring(eq + 1)); // podman: KEY alone is an empty value
            }
            ObjectNode l = body.putObject("labels");
            parsed.forEach(l::put);
            JsonNode created = volume.vessel.client().call("POST", "/v1/volumes", body.toString());
            volume.vessel.out.println(created.path("name").asText());
            return 0;
        }
    }

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List volumes.")
    static final class Ls implements Callable<Integer> {
        @ParentCommand
        private VolumeCommand volume;
        @Spec
        private CommandLine.Model.CommandSpec spec;
        @Option(names = "--format", paramLabel = "FORMAT", description = "json: the daemon's JSON")
        private String format;
        @Option(names = "--json", description = "the daemon's JSON")
        private boolean json;
        @Option(names = {"-q", "--quiet"}, description = "names only")
        private boolean quiet;

        @Override
        public Integer call() {
            JsonNode all = volume.vessel.client().call("GET", "/v1/volumes", null);
            if (json || Formats.json(spec, format)) {
                volume.vessel.out.println(all.path("volumes"));
                return 0;
            }
            if (quiet) {
                all.path("volumes").forEach(v -> volume.vessel.out.println(v.path("name").asText()));
                return 0;
            }
            Table table = new Table("DRIVER", "VOLUME NAME", "CONTAINERS");
            for (JsonNode v : all.path("volumes")) {
                table.row(v.path("driver").asText(), v.path("name").asText(),
                        Integer.toString(v.path("containers").size()));
            }
            table.print(volume.vessel.out);
            return 0;
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true, description = "Show volumes (pretty JSON).")
    static final class Inspect implements Callable<Integer> {
        @ParentCommand
        private VolumeCommand volume;
        @Option(names = "--json", description = "one compact JSON document per volume, for scripts")
        private boolean json;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() throws IOException {
            for (String name : names) {
                CliJson.print(volume.vessel.out, volume.vessel.client().call("GET", path(name), null), json);
            }
            return 0;
        }
    }

    @Command(name = "rm", aliases = "remove", mixinStandardHelpOptions = true,
            description = "Remove volumes with their data; one a container uses is refused unless -f.")
    static final class Rm implements Callable<Integer> {
        @ParentCommand
        private VolumeCommand volume;
        @Option(names = {"-f", "--force"}, description = "remove the containers that use it first (running ones too)")
        private boolean force;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() {
            for (String name : names) {
                volume.vessel.client().call("DELETE", path(name) + (force ? "?force=1" : ""), null);
                volume.vessel.out.println(name);
            }
            return 0;
        }
    }

    @Command(name = "prune", mixinStandardHelpOptions = true,
            description = "Remove every volume no container uses, with its data (without asking).")
    static final class Prune implements Callable<Integer> {
        @ParentCommand
        private VolumeCommand volume;
        @Option(names = {"-f", "--force"}, description = "accepted for podman's sake: prune never asks")
        private boolean force;

        @Override
        public Integer call() {
            volume.vessel.client().call("POST", "/v1/volumes/prune", "").path("removed")
                    .forEach(v -> volume.vessel.out.println(v.asText()));
            return 0;
        }
    }
}
