package dev.vessel.provisioner.rootfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.linux.Mounts;
import dev.vessel.provisioner.layer.RootRequired;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CopyBackendTest {
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
    void theCopyHoldsTheSameTreeAsTheOverlay() throws IOException {
        List<Path> layers = Layers.three(tmp.resolve("layers"));
        OverlayBackend overlay = new OverlayBackend();
        CopyBackend copy = new CopyBackend();

        Map<String, String> merged = Layers.describe(overlay.assemble("o", layers, tmp.resolve("o")));
        Path copied = copy.assemble("c", layers, tmp.resolve("c"));
        overlay.remove("o", tmp.resolve("o"));

        // The roots differ (a mount point vs a plain dir the test made): compare what is inside.
        merged.remove("");
        Map<String, String> tree = Layers.describe(copied);
        tree.remove("");
        assertEquals(merged, tree);
        assertEquals("file 4755 su 0:0", tree.get("usr/bin/su"));
        assertEquals("file 600 mine 1000:1000", tree.get("home/user/file"));
        assertFalse(tree.containsKey("etc/passwd"));
        assertEquals(List.of("var/cache", "var/cache/new"),
                tree.keySet().stream().filter(k -> k.startsWith("var/cache")).toList());

        Files.writeString(copied.resolve("written"), "w");
        copy.remove("c", tmp.resolve("c"));
        assertFalse(Files.exists(copied));
        assertTrue(Files.exists(layers.getFirst().resolve("etc/passwd")), "layers stay");
    }
}
