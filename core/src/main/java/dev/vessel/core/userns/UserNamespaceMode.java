package dev.vessel.core.userns;

import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * A container's {@code userns}, with podman's names. {@code host}: the host's user namespace, container
 * root is host root. {@code auto}: a user namespace of its own whose root is a range of unprivileged host
 * ids the node allocates, its rootfs and volumes idmapped so that they look root's inside.
 */
public enum UserNamespaceMode {
    HOST, AUTO;

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
        return Quoted.of(value) + " is not a user namespace mode; use host or auto";
    }
}
