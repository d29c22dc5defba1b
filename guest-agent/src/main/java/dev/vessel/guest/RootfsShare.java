package dev.vessel.guest;

import java.io.IOException;
import java.nio.file.Path;

/** Makes the host's shared root filesystem of a task visible in the guest, and takes it away again. */
interface RootfsShare {
    /** Mounts the share {@code tag} on the existing directory {@code target}. */
    void mount(String tag, Path target, boolean readOnly) throws IOException;

    /** Unmounts what {@link #mount} put on {@code target}; nothing mounted there is not an error. */
    void unmount(Path target) throws IOException;
}
