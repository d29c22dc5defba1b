package dev.vessel.provisioner.layer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** These tests create device nodes, set owners and mount: they fail, never skip, without root. */
public final class RootRequired {
    private RootRequired() {
    }

    public static void check() throws IOException {
        int uid = (int) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        assertEquals(0, uid, "these tests need root (mknod, chown, trusted.* xattrs, mount): run them as root");
    }
}
