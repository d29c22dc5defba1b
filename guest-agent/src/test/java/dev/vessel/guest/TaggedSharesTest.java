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

/** A share's bind mounts for a task, through mount(2)'s downcall or, before this JVM has linked it, mount(8). Root. */
class TaggedSharesTest {
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
            TaggedShares.bind(share, writable, false, linked);
            TaggedShares.bind(share, readOnly, true, linked);
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

    @Test
    void aFailedMountCommandSaysWhatItRanAndWhatItPrinted() throws Exception {
        Path target = Files.createDirectories(tmp.resolve("target"));
        IOException e = assertThrows(IOException.class,
                () -> TaggedShares.bind(tmp.resolve("no-such-share"), target, false, false));
        assertTrue(e.getMessage().startsWith("mount -o bind " + tmp.resolve("no-such-share") + " " + target + " failed: "),
                e.getMessage());
        assertTrue(e.getMessage().length() > ("mount -o bind " + tmp.resolve("no-such-share") + " " + target
                + " failed: ").length(), "mount(8)'s own words follow: " + e.getMessage());
    }
}
