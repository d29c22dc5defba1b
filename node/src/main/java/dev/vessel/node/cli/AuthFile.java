package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.ImageSource;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.registry.Credentials;
import dev.vessel.provisioner.registry.DockerConfigCredentials;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;

/**
 * Docker's {@code config.json} as the CLI keeps it: {@code login} and {@code logout} edit it, and every pull reads the
 * image's registry's entry and hands it to the daemon with the request (as docker's CLI does), so what the file says
 * now is what the pull uses, whichever user runs the CLI.
 */
final class AuthFile {
    private AuthFile() {
    }

    /** {@code --authfile} when given, else {@code $DOCKER_CONFIG/config.json}, else {@code ~/.docker/config.json}. */
    static Path location(Path authfile, Map<String, String> env) {
        return authfile != null ? authfile : DockerConfigCredentials.defaultLocation(env);
    }

    /** The file's JSON object; an empty one when there is no file. */
    static ObjectNode read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return CliJson.JSON.createObjectNode();
        }
        JsonNode existing;
        try {
            existing = CliJson.JSON.readTree(Files.readAllBytes(file));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new CliFailure(file + ": not valid JSON; fix or remove it"); // the parser's message may quote a secret
        }
        if (!(existing instanceof ObjectNode object)) {
            throw new CliFailure(file + ": not a JSON object; fix or remove it");
        }
        return object;
    }

    /** Written to a 0600 sibling and renamed over, so the secret is never readable by others, even briefly. */
    static void write(Path file, ObjectNode config) throws IOException {
        byte[] content = CliJson.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config);
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

    /**
     * The credentials a pull of {@code image} sends: {@code creds} ({@code USER:PASSWORD}) when given, else the
     * entry for the image's registry in {@code authfile} (which must have one), else the entry in the default file,
     * if any. None for an image that comes from no registry (an OCI layout, an archive) or that does not parse
     * (the daemon names what is wrong with it).
     */
    static Optional<Credentials> forPull(String image, String creds, Path authfile, Map<String, String> env) {
        if (creds != null && authfile != null) {
            throw new CliFailure("--creds and --authfile: give one of them");
        }
        if (creds != null) {
            int colon = creds.indexOf(':');
            if (colon <= 0) {
                throw new CliFailure("--creds: must be USER:PASSWORD"); // the value itself may be a password
            }
            return Optional.of(new Credentials(creds.substring(0, colon), creds.substring(colon + 1)));
        }
        ImageReference reference;
        try {
            reference = ImageReferenceParser.parseWithLocalSources("IMAGE", image);
        } catch (RuntimeException badReference) {
            return Optional.empty();
        }
        if (reference.getSource() == ImageSource.OCI_LAYOUT || reference.getSource() == ImageSource.DOCKER_ARCHIVE) {
            return Optional.empty();
        }
        Path file = location(authfile, env);
        if (authfile != null && !Files.isReadable(authfile)) {
            throw new CliFailure("--authfile " + authfile + ": no such readable file");
        }
        Optional<Credentials> found;
        try {
            found = DockerConfigCredentials.load(file).forRegistry(reference.getRegistry());
        } catch (IOException | RuntimeException e) {
            throw new CliFailure((authfile != null ? "--authfile " : "") + file + ": " + e.getMessage());
        }
        if (found.isEmpty() && authfile != null) {
            throw new CliFailure("--authfile " + authfile + ": holds no credentials for registry " + reference.getRegistry());
        }
        return found;
    }
}
