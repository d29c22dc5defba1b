package dev.vessel.provisioner.rootfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.linux.Mounts;
import dev.vessel.provisioner.layer.RootRequired;
import dev.vessel.provisioner.layer.TarBuilder;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BindBackendTest {
    @TempDir
    Path tmp;
    private final BindBackend bind = new BindBackend();

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
    void aSingleLayerIsMountedReadOnly() throws IOException {
        List<Path> layer = Layers.unpackAll(tmp.resolve("layers"), List.of(new TarBuilder().file("etc/os", "one").gzip()));
        Path containerDir = tmp.resolve("c");

        Path rootfs = bind.assemble("c", layer, containerDir);

        assertTrue(Mounts.isMountPoint(rootfs));
        assertEquals("one", Files.readString(rootfs.resolve("etc/os")));
        FileSystemException e = assertThrows(FileSystemException.class,
                () -> Files.writeString(rootfs.resolve("new"), "x"));
        assertEquals("Read-only file system", e.getReason(), "EROFS");

        bind.remove("c", containerDir);
        assertFalse(Mounts.isMountPoint(rootfs));
        assertFalse(Files.exists(rootfs));
        assertEquals("one", Files.readString(layer.getFirst().resolve("etc/os")), "the layer stays");
    }

    @Test
    void moreThanOneLayerIsRefused() {
        VesselException e = assertThrows(VesselException.class,
                () -> bind.assemble("c", List.of(tmp.resolve("a"), tmp.resolve("b")), tmp.resolve("c")));

        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("exactly one layer"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("c")));
    }
}
