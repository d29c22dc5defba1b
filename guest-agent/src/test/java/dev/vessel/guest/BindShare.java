package dev.vessel.guest;

import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The tests' stand-in for a virtio-9p share (this host has no virtio): each tag names a directory of
 * the host, bind-mounted on the target, read-only when asked.
 */
final class BindShare implements HostShare {
    private final Map<String, Path> directories;

    BindShare(Map<String, Path> directories) {
        this.directories = directories;
    }

    /** Checks only that the tag exists: a bind has no handshake to take out of the launch. */
    @Override
    public void mountAhead(String tag, Kind kind) throws IOException {
        if (!directories.containsKey(tag)) {
            throw new IOException("no share with tag '" + tag + "'");
        }
    }

    @Override
    public void mount(String tag, Kind kind, Path target, boolean readOnly) throws IOException {
        Path source = directories.get(tag);
        if (source == null) {
            throw new IOException("no share with tag '" + tag + "'");
        }
        Mounts.mount(source.toString(), target, null, Mounts.MS_BIND | Mounts.MS_REC, null);
        if (readOnly) {
            Mounts.mount(null, target, null, Mounts.MS_BIND | Mounts.MS_REMOUNT | Mounts.MS_RDONLY, null);
        }
    }

    @Override
    public void unmount(Path target) throws IOException {
        Mounts.unmountTree(target);
    }
}
