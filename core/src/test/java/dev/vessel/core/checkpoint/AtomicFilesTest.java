package dev.vessel.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    private static final byte[] SCRIPT = "#!/bin/sh\nexit 0\n".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    @Test
    void anExecutableIsInstalled0755WhateverTheUmask() throws Throwable {
        Path target = dir.resolve("bin/helper");
        int before = umask(0077); // a daemon started under a strict umask must still install a runnable file
        try {
            assertTrue(AtomicFiles.installExecutable(target, SCRIPT));
        } finally {
            umask(before);
        }
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
        assertArrayEquals(SCRIPT, Files.readAllBytes(target));
        try (var entries = Files.list(target.getParent())) {
            assertEquals(1, entries.count(), "no temporary file is left beside it");
        }
    }

    @Test
    void anIdenticalExecutableIsLeftUntouched() throws Exception {
        Path target = dir.resolve("helper");
        AtomicFiles.installExecutable(target, SCRIPT);
        Object inode = Files.readAttributes(target, "unix:ino", LinkOption.NOFOLLOW_LINKS).get("ino");

        assertFalse(AtomicFiles.installExecutable(target, SCRIPT));
        assertEquals(inode, Files.readAttributes(target, "unix:ino").get("ino"));
    }

    @Test
    void aChangedContentOrModeIsReplacedByANewFile() throws Exception {
        Path target = dir.resolve("helper");
        AtomicFiles.installExecutable(target, SCRIPT);
        Object inode = Files.readAttributes(target, "unix:ino").get("ino");

        byte[] changed = "#!/bin/sh\nexit 1\n".getBytes(StandardCharsets.UTF_8);
        assertTrue(AtomicFiles.installExecutable(target, changed));
        assertArrayEquals(changed, Files.readAllBytes(target));
        assertNotEquals(inode, Files.readAttributes(target, "unix:ino").get("ino"), "renamed over, not rewritten");

        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        assertTrue(AtomicFiles.installExecutable(target, changed));
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
    }

    @Test
    void recordsStayOwnerOnly() throws Exception {
        Path target = dir.resolve("record");
        AtomicFiles.write(target, SCRIPT);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
    }

    /** umask(2): sets the process's mask, returns the previous one. */
    private static int umask(int mask) throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle umask = linker.downcallHandle(linker.defaultLookup().find("umask").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        return (int) umask.invokeExact(mask);
    }
}
