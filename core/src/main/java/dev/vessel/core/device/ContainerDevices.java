package dev.vessel.core.device;

import dev.vessel.core.model.Device;

/** A config's {@link Device} entry with its defaults filled in, as podman's {@code --device} has them. */
public final class ContainerDevices {
    public static final String ALL_PERMISSIONS = "rwm";

    private ContainerDevices() {
    }

    /** Where the node is in the container: its path, or the host's when none is given. */
    public static String path(Device d) {
        return d.getPath().isEmpty() ? d.getHostPath() : d.getPath();
    }

    /** The access the devices cgroup allows: its permissions, or all of rwm when none are given. */
    public static String permissions(Device d) {
        return d.getPermissions().isEmpty() ? ALL_PERMISSIONS : d.getPermissions();
    }
}
