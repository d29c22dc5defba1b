package dev.vessel.guest;

import dev.vessel.core.paths.RuntimePaths;
import java.nio.file.Path;

/**
 * The guest agent's additions to the in-guest node's run dir (whose containers/ RuntimePaths
 * names as on a host). Container ids are validated before they get here.
 *
 * <pre>
 * run dir (the guest's)
 *   shares/&lt;id&gt;/             the host's share holding the task's rootfs, mounted
 *   volumes/&lt;id&gt;/&lt;index&gt;/    a task's shared directory or disk, mounted; index: its place in LaunchTask.mounts
 *   warm-up-root/             the throwaway root of the warm-up task, while it runs
 *   tags/&lt;tag&gt;/              a host share (virtio-9p tag), mounted once; tasks get bind mounts of it
 * </pre>
 */
record GuestPaths(RuntimePaths paths) {
    /** Where a task's share is mounted. */
    Path shareDir(String containerId) {
        return paths.runDir().resolve("shares").resolve(containerId);
    }

    /** Where a task's volume sources are mounted, one directory each. */
    Path volumesDir(String containerId) {
        return paths.runDir().resolve("volumes").resolve(containerId);
    }

    /** The mount point of the {@code index}-th of a task's mounts, in its {@link #volumesDir}. */
    static Path volumeSource(Path volumesDir, int index) {
        return volumesDir.resolve(Integer.toString(index));
    }

    /** Where each host share is mounted once (see {@link TaggedShares}). */
    Path tagsDir() {
        return paths.runDir().resolve("tags");
    }

    /** The root the warm-up task runs in, made of the initramfs's busybox. */
    Path warmUpRoot() {
        return paths.runDir().resolve("warm-up-root");
    }
}
