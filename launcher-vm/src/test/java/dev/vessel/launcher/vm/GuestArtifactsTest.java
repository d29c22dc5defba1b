package dev.vessel.launcher.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestArtifactsTest {
    @TempDir
    Path dir;

    @Test
    void readsWhatTheImagesBuildWroteAndBecomesTheLaunchersDefault() throws Exception {
        Files.writeString(dir.resolve("artifacts.properties"), """
                kernel=/images/vmlinux
                initrd=/images/initramfs.cpio
                software=/images/software.erofs
                cmdline=console=ttyS0 panic=-1 quiet
                kernel_bytes=18056904
                """);
        GuestArtifacts guest = GuestArtifacts.load(dir);
        assertEquals(new GuestArtifacts(Path.of("/images/vmlinux"), Path.of("/images/initramfs.cpio"),
                Optional.of(Path.of("/images/software.erofs")), "console=ttyS0 panic=-1 quiet"), guest);

        VmLauncherConfig config = guest.applyTo(VmLauncherConfig.defaults(new RuntimePaths(dir, dir)));
        assertEquals(Path.of("/images/vmlinux"), config.kernel());
        assertEquals(Path.of("/images/initramfs.cpio"), config.initrd());
        assertEquals(Optional.of(Path.of("/images/software.erofs")), config.software());
        assertEquals("console=ttyS0 panic=-1 quiet", config.kernelCmdline());
    }

    @Test
    void relativeFilesAreInTheDirectoryWhereverItWasCopied() throws Exception {
        Files.writeString(dir.resolve("artifacts.properties"),
                "kernel=vmlinux\ninitrd=initramfs.cpio.lz4\nsoftware=software.erofs\ncmdline=quiet\n");
        assertEquals(new GuestArtifacts(dir.toAbsolutePath().resolve("vmlinux"),
                dir.toAbsolutePath().resolve("initramfs.cpio.lz4"), Optional.of(dir.toAbsolutePath().resolve("software.erofs")),
                "quiet"), GuestArtifacts.load(dir));
    }

    @Test
    void aDescriptionWithoutASoftwareImageIsOfAGuestWhoseInitramfsHoldsEverything() throws Exception {
        Files.writeString(dir.resolve("artifacts.properties"), "kernel=vmlinux\ninitrd=initramfs.cpio\ncmdline=quiet\n");
        assertEquals(Optional.empty(), GuestArtifacts.load(dir).software());
        assertEquals(Optional.empty(),
                GuestArtifacts.load(dir).applyTo(VmLauncherConfig.defaults(new RuntimePaths(dir, dir))).software());
    }

    @Test
    void missingArtifactsSayWhat() throws Exception {
        VesselException none = assertThrows(VesselException.class, () -> GuestArtifacts.load(dir));
        assertEquals(ErrorCode.UNAVAILABLE, none.code());
        assertTrue(none.getMessage().contains("artifacts.properties"), none.getMessage());

        Files.writeString(dir.resolve("artifacts.properties"), "kernel=/k\ncmdline=x\n");
        VesselException partial = assertThrows(VesselException.class, () -> GuestArtifacts.load(dir));
        assertTrue(partial.getMessage().contains("'initrd'"), partial.getMessage());
    }
}
