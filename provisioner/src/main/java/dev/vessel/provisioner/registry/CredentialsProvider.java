package dev.vessel.provisioner.registry;

import java.util.Optional;

/** Where credentials for a registry come from (e.g. Docker's config.json). */
@FunctionalInterface
public interface CredentialsProvider {
    CredentialsProvider NONE = registry -> Optional.empty();

    /** Credentials for {@code registry} ({@code host[:port]}), if any are configured. */
    Optional<Credentials> forRegistry(String registry);
}
