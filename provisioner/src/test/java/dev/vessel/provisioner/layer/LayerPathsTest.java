package dev.vessel.provisioner.layer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerPathsTest {
    private static final String HEX = "a".repeat(64);
    private static final String DIFF_ID = "sha256:" + HEX;

    @TempDir
    Path tmp;

    @Test
    void layersAreKeyedByDiffId() {
        LayerPaths paths = new LayerPaths(tmp);
        assertEquals(tmp.resolve("sha256/" + HEX + "/diff"), paths.diff(DIFF_ID));
        Path temp = paths.newTemporary(DIFF_ID);
        assertEquals(tmp.resolve("sha256"), temp.getParent(), "next to the layer, for an atomic rename");
        assertNotEquals(temp, paths.newTemporary(DIFF_ID));
    }

    @Test
    void readsBackCompleteLayersAndTemporariesApart() throws Exception {
        LayerPaths paths = new LayerPaths(tmp);
        assertEquals(List.of(), paths.diffIds(), "no directory: no layer");
        Files.createDirectories(paths.diff(DIFF_ID));
        Files.createDirectories(paths.layerDir("sha256:" + "b".repeat(64))); // no diff: incomplete
        Path temp = Files.createDirectories(paths.newTemporary("sha512:" + "c".repeat(128)));
        assertEquals(List.of(DIFF_ID), paths.diffIds());
        assertEquals(List.of(new LayerPaths.Temporary(temp, "sha512:" + "c".repeat(128))), paths.temporaries());
    }
}
