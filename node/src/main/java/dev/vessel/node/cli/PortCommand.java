package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code vessel port ID [PORT[/PROTO]]}: the container's published ports as podman prints them,
 * {@code 80/tcp -> 0.0.0.0:8080}; with a port, only the host addresses it is published on.
 */
@Command(name = "port", mixinStandardHelpOptions = true, description = "List a container's published ports.")
final class PortCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Spec
    private CommandLine.Model.CommandSpec spec;
    @Parameters(index = "0", paramLabel = "ID")
    private String id;
    @Parameters(index = "1", arity = "0..1", paramLabel = "PORT[/PROTO]", description = "only this container port")
    private String wanted;

    @Override
    public Integer call() {
        String onlyPort = null;
        String onlyProtocol = "tcp";
        if (wanted != null) {
            String[] parts = wanted.split("/", 2);
            onlyPort = parts[0];
            onlyProtocol = parts.length == 2 ? parts[1] : "tcp";
            if (!onlyPort.matches("[0-9]{1,5}") || !(onlyProtocol.equals("tcp") || onlyProtocol.equals("udp"))) {
                throw new CommandLine.ParameterException(spec.commandLine(), "PORT: '" + wanted
                        + "' must be PORT, PORT/tcp or PORT/udp");
            }
        }
        JsonNode networks = vessel.client().call("GET", "/v1/containers/" + Paths.segment(id), null)
                .at("/config/networks");
        boolean found = false;
        for (JsonNode network : networks) {
            for (JsonNode port : network.path("ports")) {
                String container = port.path("container_port").asText();
                String protocol = port.path("protocol").asText("tcp");
                protocol = protocol.isEmpty() ? "tcp" : protocol;
                String hostIp = port.path("host_ip").asText("");
                String hostAddress = (hostIp.isEmpty() ? "0.0.0.0" : hostIp) + ":" + port.path("host_port").asText();
                if (onlyPort == null) {
                    vessel.out.println(container + "/" + protocol + " -> " + hostAddress);
                } else if (onlyPort.equals(container) && onlyProtocol.equals(protocol)) {
                    vessel.out.println(hostAddress);
                    found = true;
                }
            }
        }
        if (onlyPort != null && !found) {
            throw new CliFailure("container " + id + " does not publish port " + onlyPort + "/" + onlyProtocol);
        }
        return 0;
    }
}
