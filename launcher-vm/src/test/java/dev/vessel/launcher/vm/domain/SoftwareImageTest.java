package dev.vessel.launcher.vm.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.linux.PosixAcls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU gets a copy of the built software image that its user alone (besides root) may open, and a copy that
 * changed is never given to another guest: it is made again from the build, which QEMU's user cannot write.
 * An unprivileged stand-in user ({@code nobody}) plays QEMU's.
 */
class SoftwareImageTest {
    private static final QemuUser QEMU = new QemuUser("nobody", 65534, 65534);
    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;
    private Path state;
    private Path built;
    private byte[] content;

    @BeforeEach
    void setUp() throws Exception {
        state = Files.createDirectory(dir.resolve("state"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        content = new byte[(int) (4 * MIB)];
        new Random(7).nextBytes(content);
        built = Files.write(dir.resolve("software.erofs"), content);
        Files.setPosixFilePermissions(built, PosixFilePermissions.fromString("rw-r--r--"));
    }

    @Test
    void qemuMapsACopyOnlyItsUserAndRootMayOpen() throws Exception {
        Path copy = state.resolve("vm-software/software.erofs");
        VmSpec.Software software = new SoftwareImage(built, copy, state, QEMU).current();

        assertEquals(copy, software.image());
        assertEquals(4 * MIB, software.sizeBytes());
        assertArrayEquals(content, Files.readAllBytes(copy));
        assertTrue(QEMU.may(copy, PosixAcls.READ | PosixAcls.WRITE), "QEMU's user cannot open the copy read-write");
        assertTrue(QEMU.may(state, PosixAcls.EXECUTE) && QEMU.may(copy.getParent(), PosixAcls.EXECUTE),
                "QEMU's user cannot reach the copy");
        assertFalse(QEMU.may(built, PosixAcls.WRITE), "QEMU's user may write the build itself");
        // no one else: no bits for others, and the group's are the ACL mask of QEMU's entry
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)));
    }

    @Test
    void aCopyThatChangedIsMadeAgainFromTheBuildForTheNextGuest() throws Exception {
        Path copy = state.resolve("vm-software/software.erofs");
        SoftwareImage image = new SoftwareImage(built, copy, state, QEMU);
        image.current();
        Object inode = Files.getAttribute(copy, "unix:ino");
        assertEquals(inode, Files.getAttribute(image.current().image(), "unix:ino"), "an unchanged copy was made again");

        // a QEMU taken over writes one byte where every guest would read it: the length and mtime put back
        var mtime = Files.getLastModifiedTime(copy);
        try (var out = Files.newByteChannel(copy, StandardOpenOption.WRITE)) {
            out.position(MIB).write(java.nio.ByteBuffer.wrap(new byte[] {(byte) ~content[(int) MIB]}));
        }
        Files.setLastModifiedTime(copy, mtime);

        VmSpec.Software next = image.current();
        assertNotEquals(inode, Files.getAttribute(next.image(), "unix:ino"));
        assertArrayEquals(content, Files.readAllBytes(next.image()));
        assertArrayEquals(content, Files.readAllBytes(built));

        Files.delete(copy); // gone: made again too
        assertArrayEquals(content, Files.readAllBytes(image.current().image()));
    }

    @Test
    void aCopyLeftByAnEarlierDaemonIsNotTrusted() throws Exception {
        Path copy = Files.createDirectories(state.resolve("vm-software")).resolve("software.erofs");
        Files.write(copy, new byte[(int) (4 * MIB)]);
        new SoftwareImage(built, copy, state, QEMU).current();
        assertArrayEquals(content, Files.readAllBytes(copy));
    }

    @Test
    void aMissingOrUnalignedBuildIsRefusedNamingTheField() throws Exception {
        Path copy = state.resolve("vm-software/software.erofs");
        Files.write(built, new byte[(int) (3 * MIB)]);
        VesselException unaligned = assertThrows(VesselException.class,
                () -> new SoftwareImage(built, copy, state, QEMU).current());
        assertEquals(java.util.Optional.of("vm.software"), unaligned.field());
        assertTrue(unaligned.getMessage().contains("not whole 2 MiB"), unaligned.getMessage());

        Files.delete(built);
        VesselException missing = assertThrows(VesselException.class,
                () -> new SoftwareImage(built, copy, state, QEMU).current());
        assertTrue(missing.getMessage().contains("is missing"), missing.getMessage());
        assertFalse(Files.exists(copy), "a refusal left a copy");
    }
}
