package dev.vessel.core.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.linux.DeviceNodes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostDeviceTest {
    @TempDir
    Path tmp;

    @Test
    void aNodeIsReadWithItsNumberModeAndOwnerAndAnythingElseIsNone() throws Exception {
        HostDevice zero = HostDevice.at(Path.of("/dev/zero")).orElseThrow();
        assertEquals("c 1:5", zero.number());
        assertEquals("c 1:5 r", zero.allowRule("r"));
        assertEquals(0666, zero.mode());
        assertEquals(0, zero.uid());
        assertEquals(Optional.empty(), HostDevice.at(Path.of("/etc/passwd")));
        assertEquals(Optional.empty(), HostDevice.at(Path.of("/dev")));
        assertEquals(Optional.empty(), HostDevice.at(tmp.resolve("absent")));
        // a symlink stands for its node
        Path link = Files.createSymbolicLink(tmp.resolve("link"), Path.of("/dev/zero"));
        assertEquals("c 1:5", HostDevice.at(link).orElseThrow().number());
    }

    /** Needs root, as mknod does: the nodes are made under a directory of the test's, never /dev. */
    @Test
    void findPrefersTheGivenPathElseTheFirstNodeOfThatNumberUnderTheRoot() throws Exception {
        Path dev = Files.createDirectories(tmp.resolve("dev/sub"));
        DeviceNodes.create(dev.resolve("later"), DeviceNodes.Kind.CHARACTER, 0600, 1, 7);
        DeviceNodes.create(tmp.resolve("dev/block"), DeviceNodes.Kind.BLOCK, 0600, 1, 7);
        DeviceNodes.create(tmp.resolve("dev/own"), DeviceNodes.Kind.CHARACTER, 0600, 1, 7);
        Path root = tmp.resolve("dev");
        assertEquals(root.resolve("own"), HostDevice.find(root, 'c', 1, 7, root.resolve("own")).orElseThrow().path());
        // the entry's path is not such a node: the first in name order (own < sub/later)
        assertEquals(root.resolve("own"), HostDevice.find(root, 'c', 1, 7, Path.of("/dev/myfull")).orElseThrow().path());
        assertEquals(root.resolve("block"), HostDevice.find(root, 'b', 1, 7, root.resolve("own")).orElseThrow().path());
        assertTrue(HostDevice.find(root, 'c', 1, 8, root.resolve("own")).isEmpty());
    }
}
