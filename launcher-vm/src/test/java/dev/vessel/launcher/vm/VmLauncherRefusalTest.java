package dev.vessel.launcher.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.VmNic;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.launcher.vm.domain.DomainNames;
import dev.vessel.launcher.vm.domain.LibvirtFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad requests are refused naming the field, before libvirt is asked for anything. */
class VmLauncherRefusalTest {
    private static final long MIB = VmLauncherConfig.MIB;

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
        paths = TestContainers.paths(dir);
        rootfs = TestContainers.rootfs(dir);
        Path kernel = Files.writeString(dir.resolve("vmlinux"), "not booted in these tests");
        Path initrd = Files.writeString(dir.resolve("initramfs.cpio"), "not booted in these tests");
        config = VmLauncherConfig.defaults(paths).withArtifacts(kernel, initrd).withMinMemoryBytes(256 * MIB);
        launcher = new VmLauncher(paths, config);
    }

    @AfterEach
    void tearDown() {
        launcher.close();
    }

    @Test
    void guestMemoryBelowTheMinimumIsRefused() throws Exception {
        var context = TestContainers.context(paths, TestContainers.vmConfig("small").build());
        VesselException e = refused(TestContainers.plan(context, rootfs, 64 * MIB));
        assertEquals("vm.memory_bytes", e.field().orElseThrow());
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("256 MiB"), e.getMessage());
        assertNothingLeft(context);
    }

    @Test
    void aMissingDefaultKernelIsTheNodesProblemNamingVmKernel() throws Exception {
        launcher.close();
        launcher = new VmLauncher(paths, config.withArtifacts(dir.resolve("no-such-vmlinux"), config.initrd()));
        var context = TestContainers.context(paths, TestContainers.vmConfig("nokernel").build());
        VesselException e = refused(TestContainers.plan(context, rootfs, 512 * MIB));
        assertEquals("vm.kernel", e.field().orElseThrow());
        assertEquals(ErrorCode.UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("no-such-vmlinux"), e.getMessage());
        assertNothingLeft(context);
    }

    @Test
    void theContainersOwnMissingKernelIsRefusedNamingVmKernel() throws Exception {
        var context = TestContainers.context(paths, TestContainers.vmConfig("ownkernel")
                .setVm(VmOptions.newBuilder().setKernel(dir.resolve("missing-kernel").toString())).build());
        VesselException e = refused(TestContainers.plan(context, rootfs, 512 * MIB));
        assertEquals("vm.kernel", e.field().orElseThrow());
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertNothingLeft(context);
    }

    @Test
    void aRelativeKernelPathIsRefused() throws Exception {
        var context = TestContainers.context(paths, TestContainers.vmConfig("relkernel")
                .setVm(VmOptions.newBuilder().setKernel("vmlinux")).build());
        VesselException e = refused(TestContainers.plan(context, rootfs, 512 * MIB));
        assertEquals("vm.kernel", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("absolute"), e.getMessage());
        assertNothingLeft(context);
    }

    @Test
    void anInitrdThatIsNotAFileIsRefusedNamingVmInitrd() throws Exception {
        var context = TestContainers.context(paths, TestContainers.vmConfig("dirinitrd")
                .setVm(VmOptions.newBuilder().setInitrd(dir.toString())).build());
        VesselException e = refused(TestContainers.plan(context, rootfs, 512 * MIB));
        assertEquals("vm.initrd", e.field().orElseThrow());
        assertNothingLeft(context);
    }

    @Test
    void aTaskWithoutRootfsIsRefused() throws Exception {
        var context = TestContainers.context(paths, TestContainers.vmConfig("noroot").build());
        VesselException e = refused(TestContainers.plan(context, dir.resolve("no-rootfs"), 512 * MIB));
        assertEquals("root", e.field().orElseThrow());
        assertNothingLeft(context);
    }

    @Test
    void aNicWithABadTapOrMacIsRefusedNamingIt() throws Exception {
        var context = TestContainers.context(paths, TestContainers.vmConfig("badnic").build());
        LaunchPlan good = TestContainers.plan(context, rootfs, 512 * MIB);
        for (var bad : java.util.List.of(
                new String[] {"tap name that is far too long", "02:00:00:00:00:01", "launch_info.vm.nics[0].tap"},
                new String[] {"vt0", "01:00:5e:00:00:01", "launch_info.vm.nics[0].guest.mac"}, // multicast
                new String[] {"vt0", "02:00:00:00:00", "launch_info.vm.nics[0].guest.mac"})) {
            LaunchInfo info = good.launchInfo().toBuilder().setVm(good.launchInfo().getVm().toBuilder()
                    .addNics(VmNic.newBuilder().setTap(bad[0]).setGuest(GuestInterface.newBuilder().setMac(bad[1]))))
                    .build();
            VesselException e = refused(new LaunchPlan(context, info));
            assertEquals(bad[2], e.field().orElseThrow(), e.getMessage());
            assertNothingLeft(context);
        }
    }

    @Test
    void nothingToRecoverWithoutACheckpoint() throws Exception {
        var context = TestContainers.context(paths, TestContainers.vmConfig("never").build());
        assertTrue(launcher.recover(context).isEmpty());
    }

    private VesselException refused(LaunchPlan plan) {
        return assertThrows(VesselException.class, () -> launcher.fork(plan));
    }

    private void assertNothingLeft(TestContainers.Context context) throws Exception {
        String domain = DomainNames.forContainer(context.containerId());
        assertFalse(LibvirtFixture.allDomainNames().contains(domain), domain + " exists after a refused fork");
        assertFalse(Files.exists(paths.launcherCheckpoint(context.containerDir())), "a refused fork wrote a checkpoint");
        assertFalse(Files.exists(paths.agentSocket(context.containerDir())), "a refused fork left a socket");
        assertTrue(launcher.runningTask(context.containerId()).isEmpty());
    }
}
