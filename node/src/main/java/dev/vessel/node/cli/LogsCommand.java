package dev.vessel.node.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code vessel logs}: the task's stdout to stdout and its stderr to stderr. */
@Command(name = "logs", mixinStandardHelpOptions = true, description = "Print a container's output; -f follows it until the container ends.")
final class LogsCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Option(names = {"-f", "--follow"}, description = "keep streaming until the container ends")
    private boolean follow;
    @Parameters(paramLabel = "ID")
    private String id;

    @Override
    public Integer call() throws Exception {
        VesselClient client = vessel.client();
        if (!follow) {
            copy(client, "stdout", vessel.out);
            copy(client, "stderr", vessel.err);
            return 0;
        }
        // both streams at once, so neither waits for the other to end; a platform thread, as in RunCommand.follow
        Thread stderr = Thread.ofPlatform().daemon().name("follow-stderr").start(() -> {
            try {
                copy(client, "stderr", vessel.err);
            } catch (IOException | CliFailure e) {
                vessel.err.println("vessel: following the stderr of " + id + ": " + e.getMessage());
            }
        });
        copy(client, "stdout", vessel.out);
        stderr.join();
        return 0;
    }

    private void copy(VesselClient client, String stream, PrintStream to) throws IOException {
        try (VesselClient.Response r = client.open("GET", "/v1/containers/" + Paths.segment(id) + "/logs?stream="
                + stream + (follow ? "&follow=1" : ""), null)) {
            byte[] buffer = new byte[8192];
            for (int n = r.body.read(buffer); n >= 0; n = r.body.read(buffer)) {
                to.write(buffer, 0, n);
                to.flush();
            }
        }
    }
}
