package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code vessel healthcheck run ID}: runs the container's health check now, as podman's does: exit 0 when it
 * passed, 1 with "unhealthy" (or the status) when it did not; the finding counts as a scheduled run's would.
 */
@Command(name = "healthcheck", mixinStandardHelpOptions = true, description = "Run a container's health check.",
        subcommands = HealthcheckCommand.Run.class)
final class HealthcheckCommand {
    @ParentCommand
    private Vessel vessel;

    @Command(name = "run", mixinStandardHelpOptions = true, description = "Run the container's health check now.")
    static final class Run implements Callable<Integer> {
        @ParentCommand
        private HealthcheckCommand healthcheck;
        @Parameters(paramLabel = "ID")
        private String id;

        @Override
        public Integer call() {
            JsonNode status = healthcheck.vessel.client().call("POST", "/v1/containers/" + Paths.segment(id)
                    + "/healthcheck", "");
            JsonNode log = status.path("log");
            JsonNode last = log.isEmpty() ? null : log.get(log.size() - 1);
            if (last != null && last.path("exit_code").asInt(0) == 0) {
                return 0;
            }
            healthcheck.vessel.out.println(status.path("status").asText("unhealthy"));
            return 1;
        }
    }
}
