package dev.vessel.launcher.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.vm.domain.QemuAccess;
import dev.vessel.linux.PosixAcls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rootfs's file server on the host, without a guest: virtiofsd runs in a user namespace of its own that
 * maps every id to itself (so its capabilities are that namespace's, not the host's), nobody but its owner may
 * connect until {@code QemuAccess} lets QEMU's user in (and no other), and stopping it leaves no process and no
 * directory. An unprivileged stand-in user
 * ({@code nobody}) plays QEMU's. (What a guest does through it: VmRuntimeTest.)
 */
class RootfsServerTest {
    private static final QemuUser QEMU = new QemuUser("nobody", 65534, 65534);

    @TempDir
    Path dir;
    private Path rootfs;
    private Path containerDir;

    @BeforeEach
    void setUp() throws Exception {
        assertEquals("root", System.getProperty("user.name"), "the file server's user namespace needs root");
        rootfs = Files.createDirectories(dir.resolve("rootfs/etc")).getParent();
        containerDir = Files.createDirectory(dir.resolve("container"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
    }

    @Test
    void theServerRunsInAUserNamespaceOfItsOwnAndLeavesNothing() throws Exception {
        Path server = containerDir.resolve("vm-rootfs-server");
        Path socket = containerDir.resolve("fs.sock");
        RootfsServer.start(server, socket, rootfs);
        List<Long> pids;
        try {
            pids = servers();
            assertFalse(pids.isEmpty(), "no virtiofsd runs");
            Path ownNamespace = Files.readSymbolicLink(Path.of("/proc/self/ns/user"));
            for (long pid : pids) {
                Path proc = Path.of("/proc/" + pid);
                assertNotEquals(ownNamespace, Files.readSymbolicLink(proc.resolve("ns/user")),
                        "virtiofsd has the host's capabilities");
                assertEquals("0 0 4294967295", String.join(" ", Files.readString(proc.resolve("uid_map")).strip()
                        .split("\\s+")), "its namespace does not map every id to itself");
                assertTrue(Files.readString(proc.resolve("cmdline")).contains("source=" + rootfs), "another server");
            }
            assertTrue(Files.exists(socket), "the server does not listen");
            assertFalse(QEMU.may(socket, PosixAcls.WRITE), "the server let QEMU's user in by itself");
            new QemuAccess(QEMU, dir.resolve("state"), dir.resolve("run")).grantFileServer(socket);
            assertTrue(QEMU.may(socket, PosixAcls.READ | PosixAcls.WRITE) && QEMU.may(containerDir, PosixAcls.EXECUTE),
                    "QEMU's user cannot connect");
            assertFalse(new QemuUser("other", 65533, 65533).may(socket, PosixAcls.WRITE), "anyone may connect");
        } finally {
            RootfsServer.stop(server);
        }
        List<Long> left = servers();
        left.retainAll(pids);
        assertEquals(List.of(), left, "a server process is left");
        assertFalse(Files.exists(server), "the server's directory is left");
        assertFalse(Files.exists(socket), "the socket is left");
        try (var locks = Files.list(Path.of("/run/virtiofsd"))) {
            assertEquals(List.of(), locks.filter(f -> f.toString().contains(dir.getFileName().toString()))
                    .toList(), "virtiofsd's lock file is left on the host");
        }
        RootfsServer.stop(server); // again: nothing there is no error
    }

    @Test
    void aServerThatCannotStartSaysWhyAndLeavesNothing() throws Exception {
        Path server = containerDir.resolve("vm-rootfs-server");
        List<Long> before = servers();
        VesselException e = assertThrows(VesselException.class, () -> RootfsServer.start(server,
                containerDir.resolve("fs.sock"), dir.resolve("no-such-rootfs")));
        assertEquals(java.util.Optional.of("vm.keep_rootfs_owners"), e.field());
        assertTrue(e.getMessage().contains("source"), e.getMessage());
        assertFalse(Files.exists(server), "the server's directory is left");
        assertEquals(before, servers(), "a process is left");
    }

    private static List<Long> servers() throws Exception {
        List<Long> pids = new ArrayList<>();
        try (var proc = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path p : proc) {
                try {
                    if (Files.readSymbolicLink(p.resolve("exe")).equals(RootfsServer.VIRTIOFSD)) {
                        pids.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (java.io.IOException e) {
                    // ended meanwhile, or a kernel thread
                }
            }
        }
        return pids;
    }
}
