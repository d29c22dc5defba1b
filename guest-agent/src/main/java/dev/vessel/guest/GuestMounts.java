package dev.vessel.guest;

import dev.vessel.linux.ExternalTool;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's mounts of its shares and disks for a task: through mount(2)'s downcall once this JVM has linked it (a
 * warm guest's warm-up has: {@link Mounts#linked}), else through mount(8). A cold guest's first task would otherwise
 * start the FFM linker on its path, about half a second of its interpreted JVM under TCG, where a mount(8) process
 * costs tens of milliseconds.
 */
final class GuestMounts {
    /** A mount that hangs (a disk that never answers) fails the launch instead of holding it. */
    private static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(60);

    private GuestMounts() {
    }

    /** Mounts {@code source}'s {@code fsType} filesystem on {@code target}, read-only with {@code readOnly}. */
    static void mount(String source, Path target, String fsType, boolean readOnly, String options) throws IOException {
        mount(source, target, fsType, readOnly, options, Mounts.linked());
    }

    /** As {@link #mount(String, Path, String, boolean, String)}, through the downcall only when {@code linked}. */
    static void mount(String source, Path target, String fsType, boolean readOnly, String options, boolean linked)
            throws IOException {
        if (linked) {
            Mounts.mount(source, target, fsType, readOnly ? Mounts.MS_RDONLY : 0, options);
            return;
        }
        List<String> command = new ArrayList<>(List.of("mount", "-t", fsType));
        String all = readOnly ? (options == null ? "ro" : "ro," + options) : options;
        if (all != null) {
            command.addAll(List.of("-o", all));
        }
        command.addAll(List.of(source, target.toString()));
        mountCommand(command);
    }

    /** Binds {@code source} on {@code target}, read-only with {@code readOnly}. */
    static void bind(Path source, Path target, boolean readOnly) throws IOException {
        bind(source, target, readOnly, Mounts.linked());
    }

    /** As {@link #bind(Path, Path, boolean)}, through the downcall only when {@code linked}. */
    static void bind(Path source, Path target, boolean readOnly, boolean linked) throws IOException {
        if (linked) {
            Mounts.mount(source.toString(), target, null, Mounts.MS_BIND, null);
            if (readOnly) {
                Mounts.mount(null, target, null, Mounts.MS_BIND | Mounts.MS_REMOUNT | Mounts.MS_RDONLY, null);
            }
            return;
        }
        mountCommand(List.of("mount", "-o", "bind", source.toString(), target.toString()));
        if (readOnly) {
            mountCommand(List.of("mount", "-o", "remount,bind,ro", target.toString()));
        }
    }

    /** Runs mount(8); fails naming the command and with mount(8)'s own words. */
    private static void mountCommand(List<String> command) throws IOException {
        try {
            ExternalTool.run(command, MOUNT_TIMEOUT);
        } catch (ExternalTool.Failure e) {
            throw new IOException(String.join(" ", command) + " failed: " + e.getMessage(), e);
        }
    }
}
