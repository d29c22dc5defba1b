package dev.vessel.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A task's mounts in its guest (a share's binds, a disk's filesystem), through mount(2)'s downcall or, before this JVM
 * has linked it, mount(8). Root.
 */
class GuestMountsTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "downcall linked: {0}")
    @ValueSource(booleans = {false, true})
    void aBindShowsTheShareAndAReadOnlyOneRefusesWrites(boolean linked) throws Exception {
        Path share = Files.createDirectories(tmp.resolve("share"));
        Files.writeString(share.resolve("file"), "from the share");
        Path writable = Files.createDirectories(tmp.resolve("writable"));
        Path readOnly = Files.createDirectories(tmp.resolve("read-only"));
        try {
            GuestMounts.bind(share, writable, false, linked);
            GuestMounts.bind(share, readOnly, true, linked);
            assertEquals("from the share", Files.readString(writable.resolve("file")));
            Files.writeString(writable.resolve("written"), "x");
            assertTrue(Files.exists(share.resolve("written")), "a write through the bind reaches the share");
            assertEquals("from the share", Files.readString(readOnly.resolve("file")));
            IOException refused = assertThrows(IOException.class, () -> Files.writeString(readOnly.resolve("no"), "x"));
            assertTrue(refused.getMessage().contains("Read-only file system"), refused.getMessage());
            assertTrue(Mounts.mountPoints().containsAll(List.of(writable, readOnly)), "both are mount points");
        } finally {
            Mounts.unmountTree(writable);
            Mounts.unmountTree(readOnly);
        }
    }

    @ParameterizedTest(name = "downcall linked: {0}")
    @ValueSource(booleans = {false, true})
    void aFilesystemMountedReadOnlyRefusesWrites(boolean linked) throws Exception {
        Path writable = Files.createDirectories(tmp.resolve("writable"));
        Path readOnly = Files.createDirectories(tmp.resolve("read-only"));
        try {
            GuestMounts.mount("tmpfs", writable, "tmpfs", false, "size=1m", linked);
            GuestMounts.mount("tmpfs", readOnly, "tmpfs", true, "size=1m", linked);
            Files.writeString(writable.resolve("written"), "x");
            assertEquals("x", Files.readString(writable.resolve("written")));
            IOException refused = assertThrows(IOException.class, () -> Files.writeString(readOnly.resolve("no"), "x"));
            assertTrue(refused.getMessage().contains("Read-only file system"), refused.getMessage());
            assertTrue(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + writable + " "),
                    "the filesystem is mounted where asked");
        } finally {
            Mounts.unmountTree(writable);
            Mounts.unmountTree(readOnly);
        }
    }

    @Test
    void aFailedMountCommandSaysWhatItRanAndWhatItPrinted() throws Exception {
        Path target = Files.createDirectories(tmp.resolve("target"));
        IOException e = assertThrows(IOException.class,
                () -> GuestMounts.bind(tmp.resolve("no-such-share"), target, false, false));
        assertTrue(e.getMessage().startsWith("mount -o bind " + tmp.resolve("no-such-share") + " " + target + " failed: "),
                e.getMessage());
        assertTrue(e.getMessage().length() > ("mount -o bind " + tmp.resolve("no-such-share") + " " + target
                + " failed: ").length(), "mount(8)'s own words follow: " + e.getMessage());
    }
}
