package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
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
    @Option(names = {"-m", "--memory"}, paramLabel = "SIZE", converter = Sizes.class, description = "memory limit: 64m, 1g…")
    private Long memory;
    @Option(names = "--cpus", paramLabel = "N", description = "CPU limit, fractional: 0.5")
    private Double cpus;
    @Option(names = "--pids-limit", paramLabel = "N", description = "the most processes and threads; -1 for no limit")
    private Long pidsLimit;
    @Option(names = "--memory-reservation", paramLabel = "SIZE", converter = Sizes.class, description = "memory the"
            + " container keeps when the host runs short (a soft limit), at most --memory")
    private Long memoryReservation;
    @Option(names = {"-c", "--cpu-shares"}, paramLabel = "N", description = "CPU weight against other containers,"
            + " 2 to 262144 (1024: one CPU's)")
    private Long cpuShares;
    @Parameters(paramLabel = "ID", arity = "1..*")
    private List<String> ids;

    @Override
    public Integer call() {
        if (memory == null && cpus == null && pidsLimit == null && cpuShares == null && memoryReservation == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give at least one of --memory, --cpus,"
                    + " --cpu-shares, --memory-reservation, --pids-limit");
        }
        if (pidsLimit != null && pidsLimit <= 0 && pidsLimit != -1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--pids-limit: must be a positive number of"
                    + " processes or -1 (no limit), not " + pidsLimit);
        }
        if (cpus != null && !(cpus > 0)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--cpus: must be more than 0");
        }
        VesselClient client = vessel.client();
        for (String id : ids) {
            JsonNode current = client.call("GET", "/v1/containers/" + Paths.segment(id), null).path("config")
                    .path("resources");
            ObjectNode resources = current.isObject() ? ((ObjectNode) current).deepCopy() : CliJson.JSON.createObjectNode();
            if (memory != null) {
                resources.put("memory_bytes", memory);
            }
            if (cpus != null) {
                resources.put("cpus", cpus);
            }
            if (pidsLimit != null) {
                resources.put("pids", pidsLimit);
            }
            if (cpuShares != null) {
                resources.put("cpu_shares", cpuShares); // the daemon checks the range, naming the field
            }
            if (memoryReservation != null) {
                resources.put("memory_reservation_bytes", memoryReservation);
            }
            client.call("POST", "/v1/containers/" + Paths.segment(id) + "/update", resources.toString());
            vessel.out.println(id);
        }
        return 0;
    }
}
