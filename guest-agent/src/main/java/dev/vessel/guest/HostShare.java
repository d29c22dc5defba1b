package dev.vessel.guest;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Makes a directory the host shares with the guest visible in the guest, and takes it away again:
 * a task's root filesystem, and each of its directory volumes ({@link GuestVolumes}).
 */
interface HostShare {
    /** How the host exports a tag. */
    enum Kind {
        /** A virtio-9p share (QEMU's own server). */
        NINE_P,
        /** A virtio-fs device (a file server of the host's beside QEMU). */
        VIRTIO_FS
    }

    /**
     * Mounts the share {@code tag} ahead of a task (a warm guest's), so that {@link #mount} then only binds
     * it; a tag already mounted is left as it is.
     */
    void mountAhead(String tag, Kind kind) throws IOException;

    /** Mounts the share {@code tag}, exported as {@code kind}, on the existing directory {@code target}. */
    void mount(String tag, Kind kind, Path target, boolean readOnly) throws IOException;

    /** Unmounts what {@link #mount} put on {@code target}; nothing mounted there is not an error. */
    void unmount(Path target) throws IOException;
}
