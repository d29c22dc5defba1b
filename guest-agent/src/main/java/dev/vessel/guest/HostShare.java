package dev.vessel.guest;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Makes a directory the host shares with the guest visible in the guest, and takes it away again:
 * a task's root filesystem, and each of its directory volumes ({@link GuestVolumes}).
 */
interface HostShare {
    /** Mounts the share {@code tag} on the existing directory {@code target}. */
    void mount(String tag, Path target, boolean readOnly) throws IOException;

    /** Unmounts what {@link #mount} put on {@code target}; nothing mounted there is not an error. */
    void unmount(Path target) throws IOException;
}
