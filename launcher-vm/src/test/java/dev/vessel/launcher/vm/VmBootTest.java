package dev.vessel.launcher.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.vm.domain.Accelerator;
import dev.vessel.launcher.vm.domain.CgroupPartition;
import dev.vessel.launcher.vm.domain.LibvirtFixture;
import dev.vessel.linux.PosixAcls;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Boots real guests through libvirt (under TCG here) with scripted busybox agents. */
class VmBootTest {
    private static final long MIB = VmLauncherConfig.MIB;
    /** This run's own partition: a concurrent run of these tests must not see ours empty and remove it. */
    private static final String PARTITION = "/vessel-test-" + ProcessHandle.current().pid();

    @TempDir
    Path dir;
    private RuntimePaths paths;
    private Path rootfs;
    private VmLauncherConfig config;
    private VmLauncher launcher;

    @BeforeAll
    static void libvirt() throws Exception {
        LibvirtFixture.requireLibvirt();
    }

    @BeforeEach
    void setUp() throws Exception {
        QemuUser.ofHost().allow(dir, PosixAcls.EXECUTE); // QEMU's user reaches the guest's files in it
        paths = TestContainers.paths(dir);
        rootfs = TestContainers.rootfs(dir);
        config = new VmLauncherConfig(LibvirtFixture.URI, TestGuest.kernel(), dir.resolve("unset.cpio"),
                Optional.empty(), VmLauncherConfig.DEFAULT_KERNEL_CMDLINE, Accelerator.AUTO, 128 * MIB, Duration.ofSeconds(120),
                Duration.ofSeconds(60), Duration.ofMinutes(10), Duration.ofMinutes(20), PARTITION, 0);
        launcher = new VmLauncher(paths, config);
    }

    @AfterEach
    void tearDown() throws Exception {
        launcher.removeOrphans(Set.of()); // whatever a failed test left running
        launcher.close();
        for (Path partition : CgroupPartition.of(PARTITION).directories()) {
            assertFalse(Files.exists(partition), "the launcher left its cgroup partition " + partition);
        }
    }

    @Test
    void aGuestRunsItsTaskAndTheVmIsGoneOnceItEnded() throws Exception {
        var context = context("boot", TestGuest.Script.ONE_TASK);
        LaunchedTask task = launcher.fork(TestContainers.plan(context, rootfs, 256 * MIB));
        assertTrue(task.pid() > 0);
        assertTrue(Files.exists(Path.of("/proc", Long.toString(task.pid()))), "QEMU runs");
        assertTrue(LibvirtFixture.allDomainNames().contains("vessel-boot"));
        assertTrue(launcher.runningTask("boot").isPresent());
        String qemuCgroups = Files.readString(Path.of("/proc", Long.toString(task.pid()), "cgroup"));
        assertTrue(qemuCgroups.contains(PARTITION + ".partition/"), "QEMU runs in Vessel's partition:\n" + qemuCgroups);

        task.release();
        Termination end = task.exit().get(120, TimeUnit.SECONDS);

        assertEquals(TestGuest.EXIT_CODE, end.getExitCode());
        assertEquals(TestGuest.OUTPUT, Files.readString(paths.stdoutLog(context.containerDir())));
        assertFalse(LibvirtFixture.isRunning(task.pid()), "QEMU outlived its task");
        LibvirtFixture.awaitNoDomain("vessel-boot");
        assertFalse(Files.exists(paths.agentSocket(context.containerDir())), "the socket outlived its task");
        assertTrue(Files.readString(paths.consoleLog(context.containerDir())).contains(TestGuest.MARKER));

        // A restarted daemon learns the end from the checkpoint, the domain being gone.
        try (VmLauncher restarted = new VmLauncher(paths, config)) {
            LaunchedTask found = restarted.recover(context).orElseThrow();
            assertEquals(TestGuest.EXIT_CODE, found.exit().get(10, TimeUnit.SECONDS).getExitCode());
        }
    }

    @Test
    void aGuestThatNeverSaysHelloFailsTheForkWithItsConsoleAndLeavesNothing() throws Exception {
        var context = context("mute", TestGuest.Script.POWER_OFF);
        VesselException e = assertThrows(VesselException.class,
                () -> launcher.fork(TestContainers.plan(context, rootfs, 256 * MIB)));
        assertTrue(e.getMessage().contains("ended before its agent said hello"), e.getMessage());
        assertTrue(e.getMessage().contains(TestGuest.MARKER), "the console's tail explains: " + e.getMessage()
                + "\n--- whole console:\n" + Files.readString(paths.consoleLog(context.containerDir())));
        assertFalse(LibvirtFixture.allDomainNames().contains("vessel-mute"));
        assertFalse(Files.exists(paths.launcherCheckpoint(context.containerDir())));
        assertFalse(Files.exists(paths.agentSocket(context.containerDir())));
    }

    @Test
    void destroyEndsARunningVmAndOrphansAreRemovedOnlyForThisStateDir() throws Exception {
        var first = context("first", TestGuest.Script.HELLO_REPEATEDLY);
        var second = context("second", TestGuest.Script.HELLO_REPEATEDLY);
        LaunchedTask a = launcher.fork(TestContainers.plan(first, rootfs, 256 * MIB));
        LaunchedTask b = launcher.fork(TestContainers.plan(second, rootfs, 256 * MIB));

        a.destroy();
        assertEquals(9, a.exit().get(60, TimeUnit.SECONDS).getSignal());
        assertFalse(LibvirtFixture.allDomainNames().contains("vessel-first"));
        a.destroy(); // idempotent

        // Another daemon's state dir: its orphan sweep leaves our domain alone.
        RuntimePaths other = new RuntimePaths(dir.resolve("other-state"), dir.resolve("other-run"));
        try (VmLauncher neighbour = new VmLauncher(other, config)) {
            neighbour.removeOrphans(Set.of());
        }
        assertTrue(LibvirtFixture.allDomainNames().contains("vessel-second"));
        // Ours, with "second" still live: kept; once it is not: destroyed.
        try (VmLauncher restarted = new VmLauncher(paths, config)) {
            restarted.removeOrphans(Set.of("second"));
            assertTrue(LibvirtFixture.allDomainNames().contains("vessel-second"));
            restarted.removeOrphans(Set.of());
        }
        assertFalse(LibvirtFixture.allDomainNames().contains("vessel-second"));
        // The task hears that its VM went away without the guest reporting an end.
        Termination lost = b.exit().get(60, TimeUnit.SECONDS);
        assertEquals(TerminationReason.LOST, lost.getReason());
    }

    @Test
    void aRestartedDaemonFindsTheRunningVmAndReconnects() throws Exception {
        var context = context("survivor", TestGuest.Script.HELLO_REPEATEDLY);
        LaunchedTask forked = launcher.fork(TestContainers.plan(context, rootfs, 256 * MIB));
        launcher.close(); // the daemon goes away; its VMs keep running

        launcher = new VmLauncher(paths, config);
        LaunchedTask found = launcher.recover(context).orElseThrow();
        assertEquals(forked.pid(), found.pid());
        assertFalse(found.exit().isDone());
        assertTrue(launcher.runningTask("survivor").isPresent());

        found.destroy();
        assertFalse(LibvirtFixture.allDomainNames().contains("vessel-survivor"));
        assertFalse(Files.exists(paths.agentSocket(context.containerDir())));
        assertTrue(launcher.recover(context).isEmpty(), "nothing left to find once destroyed");
    }

    @Test
    void aRestartedDaemonTakesTheChannelBackFromAConnectionQemuStillServes() throws Exception {
        var context = context("held", TestGuest.Script.HELLO_REPEATEDLY);
        LaunchedTask forked = launcher.fork(TestContainers.plan(context, rootfs, 256 * MIB));
        launcher.close();
        // Someone else's connection, which QEMU accepts once the daemon's is gone and serves from then on:
        // a restarted daemon's connections would wait behind it, then be refused (EAGAIN).
        Path socket = paths.agentSocket(context.containerDir());
        try (SocketChannel held = connectOnceQemuListensAgain(socket)) {
            launcher = new VmLauncher(paths, config);
            LaunchedTask found = launcher.recover(context).orElseThrow();

            assertEquals(forked.pid(), found.pid());
            assertFalse(found.exit().isDone());
            assertTrue(closedWithin(held, 30), "QEMU closed the connection it served");
            assertTrue(Files.exists(socket), "the channel listens at its path again: " + socket);
            found.destroy();
        }
        assertFalse(LibvirtFixture.allDomainNames().contains("vessel-held"));
        assertFalse(Files.exists(socket), "the socket outlived its task");
    }

    /** Whether the peer closes {@code channel} within {@code seconds} (what it sends meanwhile is read and dropped). */
    private static boolean closedWithin(SocketChannel channel, int seconds) throws Exception {
        channel.configureBlocking(false);
        ByteBuffer sink = ByteBuffer.allocate(4096);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (channel.read(sink.clear()) < 0) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    private static SocketChannel connectOnceQemuListensAgain(Path socket) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return SocketChannel.open(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    private TestContainers.Context context(String id, TestGuest.Script script) throws Exception {
        Path initrd = TestGuest.initramfs(dir, id, script);
        return TestContainers.context(paths, TestContainers.vmConfig(id)
                .setVm(VmOptions.newBuilder().setInitrd(initrd.toString())).build());
    }
}
