package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
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
 * {@code vessel pod}: pods ({@code /v1/pods}), groups of containers sharing a network, IPC and UTS namespace and
 * limits; {@code vessel run --pod NAME} adds a member.
 */
@Command(name = "pod", mixinStandardHelpOptions = true, description = "Manage pods: containers that share a network,"
        + " IPC and UTS namespace and limits (vessel run --pod NAME adds one).",
        subcommands = {PodCommand.Create.class, PodCommand.Ls.class, PodCommand.Inspect.class, PodCommand.Stop.class,
                PodCommand.Rm.class})
final class PodCommand implements Runnable {
    @ParentCommand
    Vessel vessel;
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand: create, ls, inspect, stop or rm");
    }

    private static String path(String name) {
        return "/v1/pods/" + Paths.segment(name);
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a pod and start its namespaces'"
            + " holder.")
    static final class Create implements Callable<Integer> {
        @ParentCommand
        private PodCommand pod;
        @Spec
        private CommandLine.Model.CommandSpec spec;
        @Parameters(paramLabel = "NAME")
        private String name;
        @Option(names = "--vm", description = "run all its members in one VM (one guest kernel)")
        private boolean vm;
        @Option(names = "--network", paramLabel = "NAME", description = "attach the pod to this CNI network")
        private String network;
        @Option(names = {"-p", "--publish"}, paramLabel = "HOST:CTR[/udp]", converter = RunCommand.PortConverter.class,
                description = "publish a port of the pod's members (needs --network)")
        private List<RunCommand.Port> ports = new ArrayList<>();
        @Option(names = {"-m", "--memory"}, paramLabel = "SIZE", converter = Sizes.class,
                description = "memory limit of all its members together: 64m, 1g…")
        private Long memory;
        @Option(names = "--cpus", paramLabel = "N", description = "CPU limit of all its members together: 0.5")
        private Double cpus;
        @Option(names = "--hostname", paramLabel = "NAME", description = "its members' host name (default: the pod's name)")
        private String hostname;
        @Option(names = "--sysctl", paramLabel = "KEY=VALUE", description = "set a kernel parameter of the network or"
                + " IPC namespace its members share (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*);"
                + " repeatable")
        private Map<String, String> sysctls = new LinkedHashMap<>();

        @Override
        public Integer call() {
            ObjectNode body = CliJson.JSON.createObjectNode().put("name", name);
            if (vm) {
                body.put("isolation", "VM");
            }
            if (hostname != null) {
                body.put("hostname", hostname);
            }
            if (!sysctls.isEmpty()) {
                ObjectNode parameters = body.putObject("sysctls");
                sysctls.forEach(parameters::put); // the daemon validates them, naming each
            }
            if (memory != null || cpus != null) {
                ObjectNode resources = body.putObject("resources");
                if (memory != null) {
                    resources.put("memory_bytes", memory);
                }
                if (cpus != null) {
                    if (!(cpus > 0)) {
                        throw new CommandLine.ParameterException(spec.commandLine(), "--cpus: must be more than 0");
                    }
                    resources.put("cpus", cpus);
                }
            }
            if (!ports.isEmpty() && network == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--publish: needs --network NAME (a CNI network)");
            }
            if (network != null) {
                ArrayNode published = body.putArray("networks").addObject().put("network", network).putArray("ports");
                ports.forEach(p -> published.addObject().put("host_port", p.host()).put("container_port", p.container())
                        .put("protocol", p.protocol()));
            }
            JsonNode created = pod.vessel.client().call("POST", "/v1/pods", body.toString());
            pod.vessel.out.println(created.at("/status/id").asText());
            return 0;
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List pods with their members.")
    static final class Ls implements Callable<Integer> {
        @ParentCommand
        private PodCommand pod;
        @Option(names = "--json", description = "print the daemon's JSON")
        private boolean json;

        @Override
        public Integer call() {
            JsonNode all = pod.vessel.client().call("GET", "/v1/pods", null);
            if (json) {
                pod.vessel.out.println(all);
                return 0;
            }
            Table table = new Table("NAME", "ISOLATION", "STATE", "IP", "MEMBERS", "CREATED");
            Instant now = Instant.now();
            for (JsonNode p : all.path("pods")) {
                JsonNode status = p.path("status");
                List<String> ips = new ArrayList<>();
                status.path("ip_addresses").forEach(ip -> ips.add(ip.asText()));
                List<String> members = new ArrayList<>();
                p.path("members").forEach(m -> members.add(m.path("id").asText()));
                table.row(status.path("id").asText(), status.path("isolation").asText(), status.path("state").asText(),
                        String.join(",", ips), String.join(",", members),
                        PsCommand.ago(status.path("created_at").asText(""), now));
            }
            table.print(pod.vessel.out);
            return 0;
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Show a pod: its status, config and members (pretty JSON).")
    static final class Inspect implements Callable<Integer> {
        @ParentCommand
        private PodCommand pod;
        @Option(names = "--json", description = "one compact JSON document, for scripts")
        private boolean json;
        @Parameters(paramLabel = "NAME")
        private String name;

        @Override
        public Integer call() throws IOException {
            CliJson.print(pod.vessel.out, pod.vessel.client().call("GET", path(name), null), json);
            return 0;
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "Stop pods: their members (stop signal, SIGKILL after the timeout), then the pods.")
    static final class Stop implements Callable<Integer> {
        @ParentCommand
        private PodCommand pod;
        @Option(names = {"-t", "--time"}, paramLabel = "SECONDS", description = "seconds each member has to stop"
                + " before SIGKILL (default: its own, else 10)")
        private Long timeout;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() {
            for (String name : names) {
                pod.vessel.client().call("POST", path(name) + "/stop" + (timeout == null ? "" : "?timeout=" + timeout), "");
                pod.vessel.out.println(name);
            }
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove pods with their members.")
    static final class Rm implements Callable<Integer> {
        @ParentCommand
        private PodCommand pod;
        @Option(names = {"-f", "--force"}, description = "remove running pods too (their members are destroyed)")
        private boolean force;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() {
            for (String name : names) {
                pod.vessel.client().call("DELETE", path(name) + (force ? "?force=1" : ""), null);
                pod.vessel.out.println(name);
            }
            return 0;
        }
    }
}
