package dev.vessel.core.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NamedVolumesTest {
    @TempDir
    Path tmp;

    private RuntimePaths paths() {
        return new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
    }

    @Test
    void createReadListRemove() throws Exception {
        NamedVolumes volumes = new NamedVolumes(paths());
        NamedVolumes.Volume v = volumes.create("data", Map.of("team", "a"));
        assertEquals(paths().persistentVolume("data"), v.mountpoint());
        assertTrue(Files.isDirectory(v.mountpoint()));
        assertEquals(Map.of("team", "a"), volumes.read("data").orElseThrow().labels());
        VesselException exists = assertThrows(VesselException.class, () -> volumes.create("data", Map.of()));
        assertEquals(ErrorCode.ALREADY_EXISTS, exists.code());
        assertEquals(paths().persistentVolume("other"), volumes.ensure("other"));
        assertEquals(List.of("data", "other"), volumes.list().stream().map(NamedVolumes.Volume::name).toList());
        Files.writeString(v.mountpoint().resolve("f"), "x");
        volumes.remove("data");
        assertFalse(Files.exists(paths().volumeDir("data")));
        assertEquals(ErrorCode.NOT_FOUND, assertThrows(VesselException.class, () -> volumes.remove("data")).code());
        assertEquals(ErrorCode.INVALID_ARGUMENT,
                assertThrows(VesselException.class, () -> volumes.create("../x", Map.of())).code());
        assertEquals(ErrorCode.INVALID_ARGUMENT, assertThrows(VesselException.class, () -> volumes.ensure(".x")).code());
    }

    @Test
    void recoverSweepsHalfMadeVolumesAndAdoptsTheOlderLayoutKeepingItsData() throws Exception {
        RuntimePaths paths = paths();
        Path half = Files.createDirectories(paths.volumesDir().resolve(".tmp-new-1234/_data"));
        Path old = Files.createDirectories(paths.volumesDir().resolve("old"));
        Files.writeString(old.resolve("f"), "mine");
        // an adoption a crash stopped after the move
        Path adopting = Files.createDirectories(paths.volumesDir().resolve(".adopt-older/_data"));
        Files.writeString(adopting.resolve("g"), "also mine");

        NamedVolumes volumes = new NamedVolumes(paths);
        volumes.recover();

        assertFalse(Files.exists(half.getParent()));
        assertEquals("mine", Files.readString(paths.persistentVolume("old").resolve("f")));
        assertEquals("also mine", Files.readString(paths.persistentVolume("older").resolve("g")));
        assertEquals(List.of("old", "older"), volumes.list().stream().map(NamedVolumes.Volume::name).toList());
        try (Stream<Path> left = Files.list(paths.volumesDir())) {
            assertEquals(List.of("old", "older"), left.map(p -> p.getFileName().toString()).sorted().toList());
        }
        volumes.recover(); // a whole volume is left as it is
        assertEquals("mine", Files.readString(paths.persistentVolume("old").resolve("f")));
    }
}
