package dev.vessel.node.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One default guest directory for vesseld and `vessel daemon`, from an installation or a checkout. */
class GuestDirectoryTest {
    @TempDir
    Path dir;

    @Test
    void anInstallationsGuestIsBesideItsJars() throws Exception {
        Path prefix = described(dir.resolve("usr/lib/vessel/guest")).getParent();
        Path jar = Files.createDirectories(prefix.resolve("lib")).resolve("vessel-node.jar");
        assertEquals(prefix.resolve("guest"), GuestDirectory.fallback(Map.of(), jar, dir.resolve("state/guest")));
    }

    @Test
    void aCheckoutsGuestIsWhatTheImagesModuleBuilt() throws Exception {
        Path built = described(dir.resolve("checkout/images/target/guest"));
        Path classes = Files.createDirectories(dir.resolve("checkout/node/target/classes"));
        assertEquals(built, GuestDirectory.fallback(Map.of(), classes, dir.resolve("state/guest")));
    }

    @Test
    void theEnvironmentWinsAndNothingFoundLeavesTheStateDirectory() throws Exception {
        described(dir.resolve("checkout/images/target/guest"));
        Path classes = Files.createDirectories(dir.resolve("checkout/node/target/classes"));
        assertEquals(Path.of("/elsewhere"), GuestDirectory.fallback(Map.of(GuestDirectory.ENV, "/elsewhere"), classes,
                dir.resolve("state/guest")));
        Path bare = Files.createDirectories(dir.resolve("bare/node/target/classes"));
        assertEquals(dir.resolve("state/guest"), GuestDirectory.fallback(Map.of(), bare, dir.resolve("state/guest")));
    }

    private static Path described(Path guest) throws Exception {
        Files.createDirectories(guest);
        Files.writeString(guest.resolve("artifacts.properties"), "kernel=vmlinux\ninitrd=initramfs.cpio.lz4\ncmdline=quiet\n");
        return guest;
    }
}
