package dev.vessel.provisioner.rootfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.linux.Mounts;
import dev.vessel.provisioner.layer.RootRequired;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RootfsBackendsTest {
    @TempDir
    Path tmp;

    @BeforeAll
    static void root() throws IOException {
        RootRequired.check();
    }

    @AfterEach
    void leaveNoMounts() throws IOException {
        Mounts.unmountTree(tmp);
    }

    @Test
    void overlayIsPickedOnThisKernelAndTheProbeLeavesNothing() throws IOException {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), Files.createDirectories(tmp.resolve("run")));

        RootfsBackend backend = RootfsBackends.detect(paths);

        assertEquals("overlay", backend.name(), "this machine's kernel has overlayfs (see /proc/filesystems)");
        try (Stream<Path> left = Files.list(paths.runDir())) {
            assertEquals(0, left.count(), "probe directories removed");
        }
    }
}
