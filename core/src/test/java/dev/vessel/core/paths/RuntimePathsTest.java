package dev.vessel.core.paths;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuntimePathsTest {
    @TempDir
    Path tmp;

    @Test
    void vmNetworkContainersAreTheIdsOfItsCheckpoints() throws Exception {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        assertEquals(List.of(), paths.vmNetworkContainers(), "no directory: no container");
        Files.createDirectories(paths.vmNetworkStateDir());
        Files.createFile(paths.vmNetworkCheckpoint("a.b"));
        Files.createFile(paths.vmNetworkStateDir().resolve("stray.tmp"));
        assertEquals(tmp.resolve("run/vm-network/a.b.ckpt"), paths.vmNetworkCheckpoint("a.b"));
        assertEquals(List.of("a.b"), paths.vmNetworkContainers());
    }

    @Test
    void warmGuestsAreTheDirectoriesOfThePool() throws Exception {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        assertEquals(List.of(), paths.warmGuestDirs(), "no directory: no guest");
        Path guest = Files.createDirectories(paths.warmGuestDir("vessel-warm-1"));
        assertEquals(List.of(guest), paths.warmGuestDirs());
        assertEquals(guest.resolve("share/" + RuntimePaths.WARM_GUEST_ROOTFS_IN_SHARE),
                RuntimePaths.warmGuestRootfs(guest));
    }

    @Test
    void anAttachSocketIsInItsDirectoryUnlessThatIsTooLongForOne() throws Exception {
        RuntimePaths paths = new RuntimePaths(Path.of("/var/lib/vessel"), Path.of("/run/vessel"));
        Path shallow = paths.containerDir(List.of("web"));
        assertEquals(Path.of("/run/vessel/containers/web/attach.sock"), paths.attachSocket(shallow));
        Path deep = paths.containerDir(List.of("a".repeat(60), "b".repeat(60))).resolve("execs/1");
        Path socket = paths.attachSocket(deep);
        assertEquals(paths.attachSocketsDir(), socket.getParent());
        assertEquals(24 + ".sock".length(), socket.getFileName().toString().length());
        assertEquals(socket, paths.attachSocket(deep), "the same directory, the same socket");

        RuntimePaths inTmp = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        assertEquals(List.of(), inTmp.attachSockets(), "no directory: no socket");
        Files.createDirectories(inTmp.attachSocketsDir());
        Files.createFile(inTmp.attachSocketsDir().resolve("x.sock"));
        assertEquals(List.of(inTmp.attachSocketsDir().resolve("x.sock")), inTmp.attachSockets());
    }

    /**
     * The JDK refuses a 107-byte path, which the kernel takes: a socket the daemon listens on or connects to moves to
     * its hashed place there; one QEMU listens on stays (Netty reaches it).
     */
    @Test
    void aSocketTheDaemonOpensThroughTheJdkFitsTheJdksLimit() throws Exception {
        RuntimePaths paths = new RuntimePaths(tmp.resolve("s"), tmp.resolve("r"));
        Path templateDir = dirWhose("migrate.sock", 107);
        Path migration = paths.vmTemplateMigrationSocket(templateDir);
        assertEquals(paths.runDir().resolve("vm-sockets"), migration.getParent(), "107 bytes: the hashed place");
        Files.createDirectories(migration.getParent());
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(migration)); // where a 107-byte path is refused
        }
        assertEquals(paths.attachSocketsDir(), paths.attachSocket(dirWhose("attach.sock", 107)).getParent());
        Path agentDir = dirWhose("agent.sock", 107);
        assertEquals(agentDir.resolve("agent.sock"), paths.agentSocket(agentDir), "QEMU listens on it: 107 bytes fit");
        Path fits = dirWhose("migrate.sock", 106);
        assertEquals(fits.resolve("migrate.sock"), paths.vmTemplateMigrationSocket(fits), "106 bytes: in its directory");
    }

    /** A directory under {@code tmp} in which {@code socket}'s path is {@code bytes} long. */
    private Path dirWhose(String socket, int bytes) {
        Path dir = tmp.resolve("d".repeat(bytes - tmp.toString().length() - ("/" + "/x/" + socket).length())).resolve("x");
        assertEquals(bytes, dir.resolve(socket).toString().length());
        return dir;
    }

    @Test
    void aRunDirTooLongForTheHashedSocketsIsNamedWhenADeepDirectoryNeedsOne() {
        Path deep = Path.of("/var/lib/vessel/containers/" + "c".repeat(100));
        RuntimePaths fits = new RuntimePaths(Path.of("/var/lib/vessel"), Path.of("/" + "r".repeat(65)));
        Path agent = fits.agentSocket(deep);
        assertEquals(107, agent.toString().length(), "the longest run dir whose hashed sockets fit");
        assertEquals(fits.runDir().resolve("vm-sockets"), agent.getParent());

        assertThrows(VesselException.class, () -> new RuntimePaths(Path.of("/var/lib/vessel"),
                Path.of("/" + "r".repeat(66))).agentSocket(deep), "one byte more");
        // a socket the JDK opens: one byte less, as a benchmark's 58-byte run dir once showed (its template's
        // migration socket was refused at 107 bytes, with the hash twice this long)
        RuntimePaths jdkFits = new RuntimePaths(Path.of("/var/lib/vessel"), Path.of("/" + "r".repeat(64)));
        Path migration = jdkFits.vmTemplateMigrationSocket(deep);
        assertEquals(106, migration.toString().length());
        assertEquals(jdkFits.runDir().resolve("vm-sockets"), migration.getParent());
        assertThrows(VesselException.class, () -> fits.vmTemplateMigrationSocket(deep), "one byte more");
        RuntimePaths tooLong = new RuntimePaths(Path.of("/var/lib/vessel"), Path.of("/" + "r".repeat(80)));
        assertEquals(Path.of("/var/lib/vessel/containers/web/agent.sock"),
                tooLong.agentSocket(Path.of("/var/lib/vessel/containers/web")), "a shallow one needs no hashed socket");
        for (Runnable deepSocket : List.<Runnable>of(() -> tooLong.agentSocket(deep),
                () -> tooLong.rootfsServerSocket(deep), () -> tooLong.attachSocket(deep),
                () -> tooLong.vmTemplateMigrationSocket(deep))) {
            VesselException e = assertThrows(VesselException.class, deepSocket::run);
            assertEquals("run_dir", e.field().orElseThrow());
            assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
            assertTrue(e.getMessage().contains(tooLong.runDir().toString()), e.getMessage());
        }
    }
}
