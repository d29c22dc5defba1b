package dev.vessel.core.isolation;

import java.util.List;

/**
 * What a container with {@code read_only_rootfs} still gets writable: podman's {@code --read-only-tmpfs}
 * three, with a host's modes. {@code filesystem/linux} mounts them; the VM launcher makes their mount points
 * in a {@code host_rootfs}, where the guest (acting as QEMU's user) may not.
 */
public final class ReadOnlyRootfs {
    /** A writable tmpfs a container with a read-only rootfs gets. */
    public record WritableTmpfs(String target, int mode) {
    }

    public static final List<WritableTmpfs> WRITABLE_TMPFS = List.of(new WritableTmpfs("/run", 0755),
            new WritableTmpfs("/tmp", 01777), new WritableTmpfs("/var/tmp", 01777));

    private ReadOnlyRootfs() {
    }
}
