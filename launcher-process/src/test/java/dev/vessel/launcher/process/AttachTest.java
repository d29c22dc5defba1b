package dev.vessel.launcher.process;

import static dev.vessel.launcher.process.Fixtures.config;
import static dev.vessel.launcher.process.Fixtures.readToEnd;
import static dev.vessel.launcher.process.Fixtures.readUntil;
import static dev.vessel.launcher.process.Fixtures.stdin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Termination;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ProcessLauncher.attach}: a container's stdio served by its monitor on its attach socket, to
 * several clients at once, with stdin ({@code interactive}) and a terminal ({@code tty}); no client,
 * slow or hostile, holds up the task or the others. Each task that prints first waits for a line, so
 * that the clients are attached before it does.
 */
@Timeout(120)
class AttachTest {
    @TempDir
    static Path tmp;

    static Path rootfs;
    static RuntimePaths paths;
    static ProcessLauncher launcher;
    static UnifiedContainerizer containerizer;

    @BeforeAll
    static void setUp() throws Exception {
        Fixtures.requireEnvironment();
        rootfs = Fixtures.busyboxRootfs(tmp.resolve("rootfs"));
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        launcher = ProcessLauncher.withBundledHelper(paths);
        containerizer = Fixtures.containerizer(paths, launcher);
    }

    @AfterEach
    void destroyLeftovers() {
        containerizer.list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                .forEach(s -> containerizer.destroy(s.getId()));
    }

    @AfterAll
    static void nothingLeft() throws Exception {
        assertEquals(List.of(), Fixtures.helperProcesses(paths.launchHelper()), "helpers still running after the tests");
    }

    static StdioChannel attach(String id) throws Exception {
        return launcher.attach(Fixtures.context(containerizer, paths, id));
    }

    static ContainerConfig.Builder interactive(String id, String... command) {
        return config(rootfs, id, command).setInteractive(true);
    }

    static String log(String id) throws Exception {
        return Fixtures.read(paths.stdoutLog(Fixtures.containerDir(paths, id)));
    }

    @Test
    void twoClientsSeeTheOutputWhichIsLoggedTooAndStdinCloseEndsCat() throws Exception {
        containerizer.launch(interactive("cat", "/bin/cat").build());
        try (StdioChannel a = attach("cat"); StdioChannel b = attach("cat")) {
            b.write(stdin("hello\n"));
            assertEquals("hello\n", readUntil(a, new Fixtures.Received(), "hello\n").stdout.toString());
            Fixtures.Received byB = readUntil(b, new Fixtures.Received(), "hello\n");
            a.write(stdin("world\n"));
            a.write(StdioFrame.stdinClose());
            Fixtures.Received byA = readToEnd(a, new Fixtures.Received());
            readToEnd(b, byB);
            assertEquals("world\n", byA.stdout.toString());
            assertEquals("hello\nworld\n", byB.stdout.toString());
            assertEquals(0, byA.exit);
            assertEquals(0, byB.exit);
        }
        Termination t = containerizer.wait("cat").get(10, TimeUnit.SECONDS);
        assertEquals(0, t.getExitCode(), t::toString);
        assertEquals("hello\nworld\n", log("cat"));
        assertFalse(Files.exists(paths.attachSocket(Fixtures.containerDir(paths, "cat"))), "socket left behind");
    }

    @Test
    void exitCarriesTheCodeAndStderrItsOwnFrames() throws Exception {
        containerizer.launch(interactive("seven", "/bin/sh", "-c", "read x; echo out; echo err >&2; exit 7").build());
        try (StdioChannel c = attach("seven")) {
            c.write(stdin("\n"));
            Fixtures.Received r = readToEnd(c, new Fixtures.Received());
            assertEquals("out\n", r.stdout.toString());
            assertEquals("err\n", r.stderr.toString());
            assertEquals(7, r.exit);
        }
    }

    @Test
    void exitOfASignalIs128PlusIt() throws Exception {
        containerizer.launch(interactive("killed", "/bin/cat").build());
        try (StdioChannel c = attach("killed")) {
            containerizer.kill("killed", 9);
            assertEquals(137, readToEnd(c, new Fixtures.Received()).exit);
        }
    }

    @Test
    void withoutInteractiveStdinIsDevNullAndInputIsDropped() throws Exception {
        containerizer.launch(config(rootfs, "noinput", "/bin/sh", "-c", "cat; echo eof; sleep 1000").build());
        try (StdioChannel c = attach("noinput")) {
            c.write(stdin("ignored\n"));
            Fixtures.await("cat to read /dev/null's end", () -> log("noinput"), () -> {
                try {
                    return log("noinput").equals("eof\n");
                } catch (Exception e) {
                    return false;
                }
            });
            containerizer.kill("noinput", 9);
            Fixtures.Received r = readToEnd(c, new Fixtures.Received());
            assertFalse(r.stdout.toString().contains("ignored"), r.stdout::toString);
        }
        assertEquals("eof\n", log("noinput"));
    }

    @Test
    void aTerminalOfTheContainersDevptsItsSizeAndCtrlC() throws Exception {
        containerizer.launch(interactive("tty", "/bin/sh", "-c",
                "read x; tty; stat -c %u:%g $(tty); echo $(ls /dev/pts); stty size; read x; stty size; echo ready; sleep 1000")
                .setTty(true).setInit(true).setUser("1000:1000").build());
        try (StdioChannel c = attach("tty")) {
            c.write(stdin("\n"));
            Fixtures.Received r = readUntil(c, new Fixtures.Received(), "24 80");
            // the first pty of the container's own devpts, its user's, and 24x80 until a client gives a size
            assertTrue(r.stdout.toString().contains("/dev/pts/0\r\n1000:1000\r\n0 ptmx\r\n24 80\r\n"),
                    r.stdout::toString);
            c.write(StdioFrame.resize(50, 132));
            c.write(stdin("\n"));
            readUntil(c, r, "ready");
            assertTrue(r.stdout.toString().contains("50 132\r\n"), r.stdout::toString);
            c.write(stdin("\u0003")); // Ctrl-C: the line discipline's SIGINT for the foreground group
            readToEnd(c, r);
            assertEquals(130, r.exit, r.stdout::toString);
        }
        assertTrue(log("tty").contains("50 132"), "the terminal's output is logged as stdout");
    }

    @Test
    void aClientThatNeverReadsDoesNotHoldTheTaskBack() throws Exception {
        containerizer.launch(interactive("flood", "/bin/sh", "-c", "read x; head -c 6000000 /dev/zero").build());
        Path socket = paths.attachSocket(Fixtures.containerDir(paths, "flood"));
        try (SocketChannel stuck = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            stuck.write(ByteBuffer.wrap(stdin("\n").encode()));
            // 6 MB for a client that takes none: over the 4 MiB it may have pending, it is dropped
            Termination t = containerizer.wait("flood").get(30, TimeUnit.SECONDS);
            assertEquals(0, t.getExitCode(), t::toString);
        }
        Path dir = Fixtures.containerDir(paths, "flood");
        assertEquals(6_000_000L, Files.size(paths.stdoutLog(dir)));
        String monitorLog = Fixtures.read(paths.monitorLog(dir));
        assertTrue(monitorLog.contains("dropped a client: it left more than 4 MiB"), monitorLog);
    }

    @Test
    void aClientSendingGarbageIsDroppedAndTheOthersGoOn() throws Exception {
        containerizer.launch(interactive("garbage", "/bin/cat").build());
        Path socket = paths.attachSocket(Fixtures.containerDir(paths, "garbage"));
        try (StdioChannel good = attach("garbage");
                SocketChannel bad = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            bad.write(ByteBuffer.wrap(new byte[] {0x11, 0, 0, 0, 1, 'x'})); // STDOUT is not the client's to send
            assertEquals(-1, bad.read(ByteBuffer.allocate(16)), "the monitor closes a client that sends garbage");
            try (SocketChannel huge = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                huge.write(ByteBuffer.wrap(new byte[] {0x01, 0x7f, 0, 0, 0})); // a 2 GiB STDIN
                assertEquals(-1, huge.read(ByteBuffer.allocate(16)), "the monitor closes a client with an oversize frame");
            }
            good.write(stdin("still here\n"));
            good.write(StdioFrame.stdinClose());
            Fixtures.Received r = readToEnd(good, new Fixtures.Received());
            assertEquals("still here\n", r.stdout.toString());
            assertEquals(0, r.exit);
        }
    }

    @Test
    void attachingToAnEndedTaskIsRefused() throws Exception {
        containerizer.launch(config(rootfs, "ended", "/bin/true").build());
        containerizer.wait("ended").get(10, TimeUnit.SECONDS);
        VesselException e = assertThrows(VesselException.class, () -> attach("ended"));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
    }

    @Test
    void aSocketUnderTheRunDirThatNoMonitorServesIsRemovedAtStartUp() throws Throwable {
        // ids this long put the sockets under the run dir: their directories' paths are too long for one
        String killed = "k".repeat(90);
        String alive = "a".repeat(90);
        containerizer.launch(config(rootfs, killed, "/bin/sleep", "1000").build());
        containerizer.launch(config(rootfs, alive, "/bin/sleep", "1000").build());
        Path killedSocket = paths.attachSocket(Fixtures.containerDir(paths, killed));
        Path aliveSocket = paths.attachSocket(Fixtures.containerDir(paths, alive));
        assertEquals(paths.attachSocketsDir(), killedSocket.getParent());
        assertTrue(Files.exists(killedSocket) && Files.exists(aliveSocket));

        // a monitor killed outright removes nothing: its task dies with it, its socket stays
        long monitor = Fixtures.checkpoint(paths, killed).getHelperPid();
        long task = Fixtures.checkpoint(paths, killed).getTaskPid();
        assertEquals(0, new ProcessBuilder("kill", "-KILL", Long.toString(monitor)).start().waitFor());
        for (long pid : new long[] {monitor, task}) {
            Fixtures.await("process " + pid + " to end", () -> Fixtures.state(pid), () -> {
                try {
                    return Fixtures.state(pid).isEmpty() || Fixtures.state(pid).equals("Z");
                } catch (Exception e) {
                    return false;
                }
            });
        }
        // the task was the monitor's child: when a test before made this JVM a child subreaper, it is ours now
        if (Fixtures.zombieChildren().contains(task)) {
            Reaper.reap(task);
        }
        assertTrue(Files.exists(killedSocket));

        new ProcessLauncher(paths, paths.launchHelper()).removeOrphans(java.util.Set.of());
        assertFalse(Files.exists(killedSocket), "a socket nobody serves stays");
        assertTrue(Files.exists(aliveSocket), "a served socket was removed");
        try (StdioChannel c = attach(alive)) {
            containerizer.kill(alive, 9);
            assertEquals(137, readToEnd(c, new Fixtures.Received()).exit, "the probe disturbed the monitor");
        }
    }
}
