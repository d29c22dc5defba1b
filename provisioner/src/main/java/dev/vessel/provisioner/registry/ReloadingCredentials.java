package dev.vessel.provisioner.registry;

import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Docker's {@code config.json} as it is now: read again whenever the file changed (a {@code login} or
 * {@code logout} replaces it by a rename, so its inode, size or modification time differ), so a long-running
 * daemon never pulls with credentials that were removed or misses ones just added. A stat per lookup.
 */
public final class ReloadingCredentials implements CredentialsProvider {
    private record Stamp(Object fileKey, long size, long modifiedNanos) {
    }

    private static final Stamp ABSENT = new Stamp(null, -1, -1);

    private final Path file;
    private Stamp loadedStamp;
    private DockerConfigCredentials loaded;

    public ReloadingCredentials(Path file) {
        this.file = file;
    }

    @Override
    public Optional<Credentials> forRegistry(String registry) {
        return current().forRegistry(registry);
    }

    private synchronized DockerConfigCredentials current() {
        try {
            Stamp now = stamp();
            if (loaded == null || !now.equals(loadedStamp)) {
                loaded = DockerConfigCredentials.load(file);
                loadedStamp = now;
            }
            return loaded;
        } catch (IOException e) {
            throw VesselException.internal(file.toString(), "cannot read these registry credentials: " + e.getMessage(), e);
        }
    }

    private Stamp stamp() throws IOException {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return new Stamp(Objects.requireNonNullElse(a.fileKey(), file), a.size(),
                    a.lastModifiedTime().to(TimeUnit.NANOSECONDS));
        } catch (NoSuchFileException e) {
            return ABSENT;
        }
    }
}
