package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code vessel network}: the CNI networks containers join with {@code --network NAME} ({@code /v1/networks}),
 * in podman's spelling.
 */
@Command(name = "network", mixinStandardHelpOptions = true, description = "Manage CNI networks (vessel run --network"
        + " NAME joins one).", subcommands = {NetworkCommand.Create.class, NetworkCommand.Ls.class,
        NetworkCommand.Inspect.class, NetworkCommand.Rm.class, NetworkCommand.Prune.class})
final class NetworkCommand implements Runnable {
    @ParentCommand
    Vessel vessel;
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand: create, ls, inspect, rm or prune");
    }

    private static String path(String name) {
        return "/v1/networks/" + Paths.segment(name);
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a bridge network (a CNI"
            + " configuration in the daemon's CNI directory).")
    static final class Create implements Callable<Integer> {
        @ParentCommand
        private NetworkCommand network;
        @Parameters(paramLabel = "NAME")
        private String name;
        @Option(names = "--subnet", paramLabel = "CIDR", description = "its IPv4 subnet (default: the first free 10.89.N.0/24)")
        private String subnet;
        @Option(names = "--gateway", paramLabel = "IP", description = "the bridge's address (default: the subnet's first)")
        private String gateway;
        @Option(names = "--internal", description = "no route out and no masquerading: its containers reach each other only")
        private boolean internal;
        @Option(names = {"-d", "--driver"}, paramLabel = "DRIVER", defaultValue = "bridge",
                description = "the driver (only ${DEFAULT-VALUE})")
        private String driver;

        @Override
        public Integer call() {
            ObjectNode body = CliJson.JSON.createObjectNode().put("name", name).put("internal", internal)
                    .put("driver", driver);
            if (subnet != null) {
                body.put("subnet", subnet);
            }
            if (gateway != null) {
                body.put("gateway", gateway);
            }
            JsonNode created = network.vessel.client().call("POST", "/v1/networks", body.toString());
            network.vessel.out.println(created.path("name").asText());
            return 0;
        }
    }

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List networks.")
    static final class Ls implements Callable<Integer> {
        @ParentCommand
        private NetworkCommand network;
        @Spec
        private CommandLine.Model.CommandSpec spec;
        @Option(names = "--format", paramLabel = "FORMAT", description = "json: the daemon's JSON")
        private String format;
        @Option(names = "--json", description = "the daemon's JSON")
        private boolean json;

        @Override
        public Integer call() {
            JsonNode all = network.vessel.client().call("GET", "/v1/networks", null);
            if (json || Formats.json(spec, format)) {
                network.vessel.out.println(all.path("networks"));
                return 0;
            }
            Table table = new Table("NAME", "DRIVER", "SUBNETS", "BRIDGE", "CONTAINERS");
            for (JsonNode n : all.path("networks")) {
                List<String> subnets = new ArrayList<>();
                n.path("subnets").forEach(s -> subnets.add(s.path("subnet").asText()));
                table.row(n.path("name").asText(), n.path("driver").asText(), String.join(",", subnets),
                        n.path("network_interface").asText(), Integer.toString(n.path("containers").size()));
            }
            table.print(network.vessel.out);
            return 0;
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true, description = "Show networks (pretty JSON).")
    static final class Inspect implements Callable<Integer> {
        @ParentCommand
        private NetworkCommand network;
        @Option(names = "--json", description = "one compact JSON document per network, for scripts")
        private boolean json;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() throws IOException {
            for (String name : names) {
                CliJson.print(network.vessel.out, network.vessel.client().call("GET", path(name), null), json);
            }
            return 0;
        }
    }

    @Command(name = "rm", aliases = "remove", mixinStandardHelpOptions = true,
            description = "Remove networks; one a container uses is refused unless -f.")
    static final class Rm implements Callable<Integer> {
        @ParentCommand
        private NetworkCommand network;
        @Option(names = {"-f", "--force"}, description = "remove the containers that use it first (running ones too)")
        private boolean force;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() {
            for (String name : names) {
                network.vessel.client().call("DELETE", path(name) + (force ? "?force=1" : ""), null);
                network.vessel.out.println(name);
            }
            return 0;
        }
    }

    @Command(name = "prune", mixinStandardHelpOptions = true,
            description = "Remove every network vessel created that no container uses (without asking).")
    static final class Prune implements Callable<Integer> {
        @ParentCommand
        private NetworkCommand network;
        @Option(names = {"-f", "--force"}, description = "accepted for podman's sake: prune never asks")
        private boolean force;

        @Override
        public Integer call() {
            network.vessel.client().call("POST", "/v1/networks/prune", "").path("removed")
                    .forEach(n -> network.vessel.out.println(n.asText()));
            return 0;
        }
    }
}
