package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code vessel update}: changes the limits of running containers (podman's flags, those Vessel has); the limits
 * not given stay as they are. Applied to the live cgroups and kept in the container's config.
 */
@Command(name = "update", mixinStandardHelpOptions = true, description = "Change the resource limits of containers.")
final class UpdateCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Spec
    private CommandLine.Model.CommandSpec spec;
    @Mixin
    private LimitFlags limits;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() {
        if (!limits.any()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give at least one of --memory,"
                    + " --memory-reservation, --cpus, --cpu-quota, --cpu-shares, --cpuset-cpus, --cpuset-mems,"
                    + " --pids-limit");
        }
        limits.putInto(CliJson.JSON.createObjectNode(), spec); // its refusals before anything changes
        VesselClient client = vessel.client();
        for (String id : ids) {
            JsonNode current = client.call("GET", "/v1/containers/" + Paths.segment(id), null).path("config")
                    .path("resources");
            ObjectNode resources = current.isObject() ? ((ObjectNode) current).deepCopy() : CliJson.JSON.createObjectNode();
            limits.putInto(resources, spec);
            client.call("POST", "/v1/containers/" + Paths.segment(id) + "/update", resources.toString());
            vessel.out.println(id);
        }
        return 0;
    }
}
