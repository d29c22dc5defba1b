package dev.vessel.isolators.network;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CniPathsTest {
    @TempDir
    Path tmp;

    @Test
    void containersAreTheDirectoriesUnderTheRoot() throws Exception {
        CniPaths paths = new CniPaths(tmp.resolve("cni"));
        assertEquals(List.of(), paths.containerIds(), "no directory: no container");
        Files.createDirectories(paths.containerDir("web"));
        Files.createDirectories(paths.root());
        Files.createFile(paths.root().resolve("not-a-container"));
        assertEquals(List.of("web"), paths.containerIds());
        assertEquals(tmp.resolve("cni/web/netns"), paths.netns("web"));
        assertEquals(tmp.resolve("cni/web/attachments"), paths.attachments("web"));
    }
}
