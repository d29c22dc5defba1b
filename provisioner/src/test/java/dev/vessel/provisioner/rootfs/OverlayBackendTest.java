package dev.vessel.provisioner.rootfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.linux.Mounts;
import dev.vessel.provisioner.layer.OverlayMarkers;
import dev.vessel.provisioner.layer.RootRequired;
import dev.vessel.provisioner.layer.TarBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OverlayBackendTest {
    @TempDir
    Path tmp;
    private final OverlayBackend overlay = new OverlayBackend();

    @BeforeAll
    static void root() throws IOException {
        RootRequired.check();
    }

    @AfterEach
    void leaveNoMounts() throws IOException {
        Mounts.unmountTree(tmp);
        assertTrue(Mounts.mountPoints().stream().noneMatch(p -> p.startsWith(tmp)), "mounts left under " + tmp);
    }

    @Test
    void threeLayersMergeWithWhiteoutAndOpaqueDirectoryAndWritesGoToTheUpperDir() throws IOException {
        List<Path> layers = Layers.three(tmp.resolve("layers"));
        Path containerDir = tmp.resolve("c1");

        Path rootfs = overlay.assemble("c1", layers, containerDir);

        assertTrue(Mounts.isMountPoint(rootfs), "rootfs is an overlay mount");
        assertEquals("v1", Files.readString(rootfs.resolve("etc/hosts")));
        assertFalse(Files.exists(rootfs.resolve("etc/passwd")), "whited out by the top layer");
        try (Stream<Path> cache = Files.list(rootfs.resolve("var/cache"))) {
            assertEquals(List.of("new"), cache.map(p -> p.getFileName().toString()).toList(), "opaque");
        }
        assertEquals("x", Files.readString(rootfs.resolve("usr/local/x")));
        assertEquals("top", Files.readString(rootfs.resolve("top")));
        assertEquals(Path.of("busybox"), Files.readSymbolicLink(rootfs.resolve("bin/sh")));

        Files.writeString(rootfs.resolve("written"), "w");
        Files.delete(rootfs.resolve("etc/hosts"));
        Path upper = containerDir.resolve("overlay/upper");
        assertEquals("w", Files.readString(upper.resolve("written")));
        assertTrue(OverlayMarkers.isWhiteout(upper.resolve("etc/hosts")), "a delete is a whiteout in the upper dir");
        assertEquals("v1", Files.readString(layers.get(1).resolve("etc/hosts")), "layers are never written");
        for (Path layer : layers) {
            assertFalse(Files.exists(layer.resolve("written")));
        }

        overlay.remove("c1", containerDir);

        assertFalse(Mounts.isMountPoint(rootfs), "unmounted (per /proc/self/mountinfo)");
        assertFalse(Files.exists(rootfs));
        assertFalse(Files.exists(containerDir.resolve("overlay")));
        assertEquals("v1", Files.readString(layers.get(1).resolve("etc/hosts")));
        overlay.remove("c1", containerDir); // idempotent
    }

    @Test
    void theOverlayIsMountedNodevButKeepsSetuid() throws IOException {
        Path containerDir = tmp.resolve("c1");
        Path rootfs = overlay.assemble("c1", Layers.three(tmp.resolve("layers")), containerDir);

        List<String> options = mountOptions(rootfs);
        assertTrue(options.contains("nodev"), "nodev in " + options);
        assertFalse(options.contains("nosuid"), "setuid programs keep working in the container: " + options);

        overlay.remove("c1", containerDir);
    }

    /** The per-mount options (field 6) of the mount at {@code mountPoint} in /proc/self/mountinfo. */
    private static List<String> mountOptions(Path mountPoint) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] fields = line.split(" ");
            if (fields[4].equals(mountPoint.toString())) {
                return List.of(fields[5].split(","));
            }
        }
        throw new AssertionError(mountPoint + " is not in /proc/self/mountinfo");
    }

    @Test
    void manyLayersWithLongPathsMountThroughShortLinks() throws IOException {
        List<TarBuilder.Layer> built = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            built.add(new TarBuilder().file("f" + i, "layer " + i).file("shared", "from " + i).plain());
        }
        Path deep = tmp.resolve("d".repeat(120));
        List<Path> layers = Layers.unpackAll(deep, built);
        Path containerDir = tmp.resolve("c2");

        Path rootfs = overlay.assemble("c2", layers, containerDir);

        assertEquals("layer 0", Files.readString(rootfs.resolve("f0")));
        assertEquals("layer 59", Files.readString(rootfs.resolve("f59")));
        assertEquals("from 59", Files.readString(rootfs.resolve("shared")), "the last layer is on top");
        assertTrue(Files.isSymbolicLink(containerDir.resolve("l/0")));

        overlay.remove("c2", containerDir);
        assertFalse(Files.exists(containerDir.resolve("l")));
        assertFalse(Files.exists(rootfs));
    }

    @Test
    void aMountFailureNamesTheContainerAndTheErrnoAndLeavesNothing() throws IOException {
        Path containerDir = tmp.resolve("c3");

        VesselException e = assertThrows(VesselException.class,
                () -> overlay.assemble("c3", List.of(tmp.resolve("no-such-layer")), containerDir));

        assertEquals(ErrorCode.INTERNAL, e.code());
        assertTrue(e.getMessage().startsWith("container c3: mount overlay on " + containerDir.resolve("rootfs") + ": "),
                e.getMessage());
        assertFalse(Files.exists(containerDir.resolve("rootfs")));
        assertFalse(Files.exists(containerDir.resolve("overlay")));
    }
}
