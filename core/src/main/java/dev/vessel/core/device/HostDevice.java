package dev.vessel.core.device;

import dev.vessel.linux.DeviceNodes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A character or block device node on this host, as stat reports it (symlinks followed): what a container's
 * {@code devices} entry binds into its root and what its devices cgroup then allows.
 *
 * @param type 'c' or 'b', as devices.allow spells it
 * @param mode the permission bits
 */
public record HostDevice(Path path, char type, int major, int minor, int mode, int uid, int gid) {
    private static final int S_IFMT = 0170000;
    private static final int S_IFCHR = 0020000;
    private static final int S_IFBLK = 0060000;
    /** How deep {@link #find} looks under /dev ({@code /dev/dri/by-path/x} is three below it). */
    private static final int SEARCH_DEPTH = 3;

    /** The device node at {@code path}; empty when nothing is there or it is not a device node. */
    public static Optional<HostDevice> at(Path path) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(path, "unix:mode,rdev,uid,gid");
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        int mode = (Integer) a.get("mode");
        char type = switch (mode & S_IFMT) {
            case S_IFCHR -> 'c';
            case S_IFBLK -> 'b';
            default -> 0;
        };
        if (type == 0) {
            return Optional.empty();
        }
        long rdev = (Long) a.get("rdev");
        return Optional.of(new HostDevice(path, type, DeviceNodes.major(rdev), DeviceNodes.minor(rdev), mode & 07777,
                (Integer) a.get("uid"), (Integer) a.get("gid")));
    }

    /**
     * A node of this host with this type and number: {@code preferred} when it is one (an engine names the
     * container's node by the host's path, as podman does unless told otherwise), else the first found under
     * {@code devRoot}, in name order; empty when the host has none.
     */
    public static Optional<HostDevice> find(Path devRoot, char type, int major, int minor, Path preferred)
            throws IOException {
        Optional<HostDevice> own = at(preferred).filter(d -> d.is(type, major, minor));
        if (own.isPresent()) {
            return own;
        }
        List<Path> nodes;
        try (Stream<Path> paths = Files.walk(devRoot, SEARCH_DEPTH)) {
            nodes = paths.filter(p -> !Files.isSymbolicLink(p) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
                    .sorted().toList();
        } catch (UncheckedIOException e) { // a directory that went away during the walk
            throw e.getCause();
        }
        for (Path p : nodes) {
            Optional<HostDevice> d = at(p).filter(node -> node.is(type, major, minor));
            if (d.isPresent()) {
                return d;
            }
        }
        return Optional.empty();
    }

    public boolean is(char type, int major, int minor) {
        return this.type == type && this.major == major && this.minor == minor;
    }

    /** The devices cgroup's rule allowing it with {@code access} (letters of rwm), in devices.allow syntax. */
    public String allowRule(String access) {
        return type + " " + major + ":" + minor + " " + access;
    }

    /** What the node is, for messages: {@code c 1:5}. */
    public String number() {
        return type + " " + major + ":" + minor;
    }
}
