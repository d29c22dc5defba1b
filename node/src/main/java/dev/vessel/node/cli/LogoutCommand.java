package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.provisioner.registry.DockerConfigCredentials;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code vessel logout}: removes a registry's credentials (or, {@code -a}, all) from the file {@code login} writes. */
@Command(name = "logout", mixinStandardHelpOptions = true, description = "Remove the stored credentials for a registry;"
        + " the next pull goes without them.")
final class LogoutCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Spec
    private CommandLine.Model.CommandSpec spec;
    @Option(names = {"-a", "--all"}, description = "remove the credentials of every registry")
    private boolean all;
    @Option(names = "--authfile", paramLabel = "FILE", description = "the credentials file to edit")
    private Path authfile;
    @Parameters(paramLabel = "REGISTRY", arity = "0..1")
    private String registry;

    @Override
    public Integer call() throws IOException {
        if (all == (registry != null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "REGISTRY: name one registry, or give --all");
        }
        Path file = AuthFile.location(authfile, vessel.env);
        ObjectNode config = AuthFile.read(file);
        if (!(config.get("auths") instanceof ObjectNode auths)) {
            return notLoggedIn(file);
        }
        List<String> keys = new ArrayList<>();
        auths.fieldNames().forEachRemaining(key -> {
            // "https://index.docker.io/v1/" and "docker.io" are one registry, as a pull reads them
            if (all || DockerConfigCredentials.normalize(key).equals(DockerConfigCredentials.normalize(registry))) {
                keys.add(key);
            }
        });
        if (keys.isEmpty()) {
            return notLoggedIn(file);
        }
        auths.remove(keys);
        AuthFile.write(file, config);
        vessel.out.println(all ? "Removed login credentials for all registries"
                : "Removed login credentials for " + registry);
        return 0;
    }

    private int notLoggedIn(Path file) {
        if (all) {
            vessel.out.println("Removed login credentials for all registries");
            return 0;
        }
        throw new CliFailure("not logged in to " + registry + " (" + file + " holds no credentials for it)");
    }
}
