package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code vessel top ID [PS-OPTIONS]}: the container's processes (those of its cgroups) as this host's {@code ps}
 * shows them, {@code -f} unless other options are given. The daemon is the node's, so its pids are this host's.
 */
@Command(name = "top", mixinStandardHelpOptions = true, description = "Show the processes of a container.")
final class TopCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Parameters(index = "0", paramLabel = "ID")
    private String id;
    @Parameters(index = "1..*", paramLabel = "PS-OPTION", description = "options for ps (default -f)")
    private List<String> psOptions = new ArrayList<>();

    @Override
    public Integer call() throws IOException, InterruptedException {
        JsonNode pids = vessel.client().call("GET", "/v1/containers/" + Paths.segment(id) + "/top", null).path("pids");
        List<String> command = new ArrayList<>(List.of("ps"));
        command.addAll(psOptions.isEmpty() ? List.of("-f") : psOptions);
        List<String> list = new ArrayList<>();
        pids.forEach(p -> list.add(p.asText()));
        command.addAll(List.of("-p", String.join(",", list)));
        Process ps = new ProcessBuilder(command).redirectErrorStream(true).start();
        vessel.out.print(new String(ps.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        int code = ps.waitFor();
        if (code != 0 && !list.isEmpty()) {
            throw new CliFailure(String.join(" ", command) + " exited " + code);
        }
        return 0;
    }
}
