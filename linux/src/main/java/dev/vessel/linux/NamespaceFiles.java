package dev.vessel.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Namespace files (a {@code /proc/PID/ns} link, a bind-mounted nsfs file) compared by what they are, not by path. */
public final class NamespaceFiles {
    private NamespaceFiles() {
    }

    /**
     * Whether {@code file} is this process's own namespace of {@code type} ({@code net}, {@code ipc}, …): the host's,
     * for the daemon. Fails when it is no file.
     */
    public static boolean isOwn(Path file, String type) throws IOException {
        return identity(file).equals(identity(Path.of("/proc/self/ns", type)));
    }

    /** A namespace file's device and inode: the same for every path to one namespace. */
    private static List<Object> identity(Path nsfs) throws IOException {
        return List.of(Files.getAttribute(nsfs, "unix:dev"), Files.getAttribute(nsfs, "unix:ino"));
    }
}
