package dev.vessel.node.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the node reports about its host beyond what the launchers detect themselves. */
final class HostProbe {
    private HostProbe() {
    }

    static String kernelRelease() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (IOException e) {
            return System.getProperty("os.version");
        }
    }
}
