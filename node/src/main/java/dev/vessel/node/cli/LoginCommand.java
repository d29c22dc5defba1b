package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.provisioner.registry.DockerConfigCredentials;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
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
 * the file the daemon's provisioner reads. Nothing is checked against the registry; a pull will tell.
 */
@Command(name = "login", mixinStandardHelpOptions = true, description = "Store credentials for a registry in $DOCKER_CONFIG/config.json"
        + " (else ~/.docker/config.json), which vesseld reads when it pulls.")
final class LoginCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Spec
    private CommandLine.Model.CommandSpec spec;
    @Option(names = {"-u", "--username"}, required = true)
    private String user;
    @Option(names = "--password-stdin", required = true, description = "read the password from standard input")
    private boolean passwordStdin;
    @Parameters(paramLabel = "REGISTRY")
    private String registry;

    @Override
    public Integer call() throws IOException {
        String password = new String(vessel.in.readAllBytes(), StandardCharsets.UTF_8).strip();
        if (password.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--password-stdin: standard input held no password");
        }
        Path file = DockerConfigCredentials.defaultLocation(vessel.env);
        ObjectNode config = CliJson.JSON.createObjectNode();
        if (Files.exists(file)) {
            JsonNode existing = CliJson.JSON.readTree(Files.readAllBytes(file));
            if (!(existing instanceof ObjectNode object)) {
                throw new CliFailure(file + ": not a JSON object; fix or remove it");
            }
            config = object;
        }
        JsonNode auths = config.path("auths");
        ObjectNode byRegistry = auths instanceof ObjectNode o ? o : config.putObject("auths");
        byRegistry.putObject(registry).put("auth",
                Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
        write(file, CliJson.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
        vessel.out.println("Login Succeeded (stored in " + file + ")");
        return 0;
    }

    /** Written to a 0600 sibling and renamed over, so the secret is never readable by others, even briefly. */
    private static void write(Path file, byte[] content) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".config", ".json",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.write(tmp, content);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
