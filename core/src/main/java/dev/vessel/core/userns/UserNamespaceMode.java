package dev.vessel.core.userns;

import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * A container's {@code userns}, with podman's names. {@code host}: the host's user namespace, container
 * root is host root. {@code auto}: a user namespace of its own whose root is a range of unprivileged host
 * ids the node allocates, its rootfs and volumes idmapped so that they look root's inside. {@code private}:
 * a user namespace of its own mapped as the config's {@code uid_map} and {@code gid_map} say (podman's
 * {@code --uidmap}, an OCI bundle's {@code linux.uidMappings}).
 */
public enum UserNamespaceMode {
    HOST, AUTO, PRIVATE;

    /** Whether the container gets a user namespace of its own. */
    public boolean own() {
        return this != HOST;
    }

    /** The name a config carries. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The mode a config names, if it names one. */
    public static Optional<UserNamespaceMode> byName(String value) {
        return Arrays.stream(values()).filter(m -> m.configName().equals(value)).findFirst();
    }

    /** {@code value} as a mode; anything else is refused naming {@code field}. */
    public static UserNamespaceMode parse(String field, String value) {
        return byName(value).orElseThrow(() -> VesselException.invalid(field, problem(value)));
    }

    /** Why {@code value} is no mode. */
    public static String problem(String value) {
        return Quoted.of(value) + " is not a user namespace mode; use host, auto or private";
    }
}
