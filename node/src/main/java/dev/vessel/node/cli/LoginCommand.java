package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code vessel login}: stores registry credentials in Docker's {@code config.json} ({@code auths.<registry>.auth}),
 * which every later pull reads and hands to the daemon. Nothing is checked against the registry; a pull will tell.
 */
@Command(name = "login", mixinStandardHelpOptions = true, description = "Store credentials for a registry in $DOCKER_CONFIG/config.json"
        + " (else ~/.docker/config.json, or --authfile), which every later pull uses.")
final class LoginCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Spec
    private CommandLine.Model.CommandSpec spec;
    @Option(names = {"-u", "--username"}, required = true)
    private String user;
    @Option(names = "--password-stdin", required = true, description = "read the password from standard input")
    private boolean passwordStdin;
    @Option(names = "--authfile", paramLabel = "FILE", description = "the credentials file to write")
    private Path authfile;
    @Parameters(paramLabel = "REGISTRY")
    private String registry;

    @Override
    public Integer call() throws IOException {
        String password = new String(vessel.in.readAllBytes(), StandardCharsets.UTF_8).strip();
        if (password.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--password-stdin: standard input held no password");
        }
        Path file = AuthFile.location(authfile, vessel.env);
        ObjectNode config = AuthFile.read(file);
        JsonNode auths = config.path("auths");
        ObjectNode byRegistry = auths instanceof ObjectNode o ? o : config.putObject("auths");
        byRegistry.putObject(registry).put("auth",
                Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
        AuthFile.write(file, config);
        vessel.out.println("Login Succeeded (stored in " + file + ")");
        return 0;
    }
}
