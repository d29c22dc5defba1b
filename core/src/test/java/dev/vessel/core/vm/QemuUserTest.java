package dev.vessel.core.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.linux.PosixAcls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QemuUserTest {
    private static final QemuUser NOBODY = new QemuUser("nobody", 65534, 65534);

    @TempDir
    Path dir;

    @Test
    void theDistributionsUserIsFoundInPasswdDebiansFirst() throws Exception {
        Path passwd = Files.writeString(dir.resolve("passwd"), """
                root:x:0:0:root:/root:/bin/bash
                qemu:x:107:107:qemu user:/:/sbin/nologin
                libvirt-qemu:x:64055:108:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin
                """);
        assertEquals(new QemuUser("libvirt-qemu", 64055, 108), QemuUser.ofPasswd(passwd));
        Files.writeString(passwd, "root:x:0:0::/root:/bin/sh\nqemu:x:107:107::/:/sbin/nologin\n");
        assertEquals(new QemuUser("qemu", 107, 107), QemuUser.ofPasswd(passwd));
        assertEquals("+107:+107", QemuUser.ofPasswd(passwd).dacLabel());
    }

    @Test
    void aHostWithoutItOrWithItAsRootIsRefused() throws Exception {
        Path passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0::/root:/bin/sh\n");
        IOException none = assertThrows(IOException.class, () -> QemuUser.ofPasswd(passwd));
        assertTrue(none.getMessage().contains("libvirt-qemu, qemu"), none.getMessage());
        Files.writeString(passwd, "libvirt-qemu:x:0:0::/:/bin/sh\n");
        IOException root = assertThrows(IOException.class, () -> QemuUser.ofPasswd(passwd));
        assertTrue(root.getMessage().contains("is root"), root.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new QemuUser("x", 0, 0));
    }

    @Test
    void searchIsOpenedOnlyFromTheTopGivenAndSeenThroughTheAcl() throws Exception {
        Path top = Files.createDirectory(dir.resolve("state"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Path deep = Files.createDirectories(top.resolve("a/b"));
        Files.setPosixFilePermissions(top.resolve("a"), PosixFilePermissions.fromString("rwx------"));
        Path file = Files.writeString(deep.resolve("f"), "x");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));

        assertEquals(Optional.of(dir), NOBODY.firstUnsearchableParent(file));
        NOBODY.allowSearch(top, deep);
        assertTrue(NOBODY.may(top, PosixAcls.EXECUTE) && NOBODY.may(top.resolve("a"), PosixAcls.EXECUTE));
        assertFalse(NOBODY.may(top, PosixAcls.READ), "search, not listing");
        assertEquals(Optional.of(dir), NOBODY.firstUnsearchableParent(file), "above the top stays closed");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        assertEquals(Optional.empty(), NOBODY.firstUnsearchableParent(file));
        assertThrows(IllegalArgumentException.class, () -> NOBODY.allowSearch(deep, top));
    }
}
