package dev.vessel.core.gpu;

import java.nio.file.Path;

/**
 * A character device node found under the node's dev root, with the device number the kernel gave it
 * (read with stat, never assumed: nvidia-uvm's major is dynamic).
 *
 * @param name the node's name in /dev, which is also its name in a container's /dev ({@code nvidia0})
 * @param path where it is on this host (under the dev root)
 */
public record DeviceNode(String name, Path path, int major, int minor) {
    /** The devices cgroup's rule allowing it, in devices.allow syntax. */
    public String allowRule() {
        return "c " + major + ":" + minor + " rwm";
    }
}
