package dev.vessel.launcher.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import java.nio.file.Files;
import java.nio.file.Path;
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
                cmdline=console=ttyS0 panic=-1 quiet
                kernel_bytes=18056904
                """);
        GuestArtifacts guest = GuestArtifacts.load(dir);
        assertEquals(new GuestArtifacts(Path.of("/images/vmlinux"), Path.of("/images/initramfs.cpio"),
                "console=ttyS0 panic=-1 quiet"), guest);

        VmLauncherConfig config = guest.applyTo(VmLauncherConfig.defaults(new RuntimePaths(dir, dir)));
        assertEquals(Path.of("/images/vmlinux"), config.kernel());
        assertEquals(Path.of("/images/initramfs.cpio"), config.initrd());
        assertEquals("console=ttyS0 panic=-1 quiet", config.kernelCmdline());
    }

    @Test
    void relativeFilesAreInTheDirectoryWhereverItWasCopied() throws Exception {
        Files.writeString(dir.resolve("artifacts.properties"), "kernel=vmlinux\ninitrd=initramfs.cpio.lz4\ncmdline=quiet\n");
        assertEquals(new GuestArtifacts(dir.toAbsolutePath().resolve("vmlinux"),
                dir.toAbsolutePath().resolve("initramfs.cpio.lz4"), "quiet"), GuestArtifacts.load(dir));
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
