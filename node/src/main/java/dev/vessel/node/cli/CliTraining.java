package dev.vessel.node.cli;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Map;

/**
 * The training runs of the CLI's start-up caches (scripts/cli-launch): the commands whose classes a cache is
 * to hold, each against a daemon that is not there (options parsed, the request built, the connection
 * refused), their output dropped. {@code lean}: {@link LeanCli}'s ({@code --version}, {@code run --rm IMAGE
 * CMD}), whose cache is kept small (a larger one costs them more to map than it saves); {@code full}: the
 * full CLI's picocli and Jackson, for every other command.
 */
public final class CliTraining {
    private CliTraining() {
    }

    public static void main(String[] args) {
        String host = "unix://" + args[0];
        PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream(), true);
        if (args[1].equals("lean")) {
            // LeanCli alone: Vessel's class, once loaded, reads every command's annotations
            for (String[] command : new String[][] {{"--host", host, "--version"}, {"--host", host, "run", "--rm", "image", "true"}}) {
                try {
                    new LeanCli(nowhere, nowhere, Map.of()).execute(command);
                } catch (CliFailure e) {
                    // no daemon: the request was built and sent as far as it could go
                }
            }
        } else {
            Vessel.execute(new Vessel(nowhere, nowhere, InputStream.nullInputStream(), false, Map.of()),
                    "--host", host, "run", "--rm", "--rootfs", "/", "true");
        }
    }
}
