package dev.vessel.isolators.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.core.vm.VmSizing;
import dev.vessel.isolators.testing.DirectPrepareContext;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.linux.DeviceNodes;
import dev.vessel.linux.Mounts;
import dev.vessel.linux.Xattrs;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host-side isolators of VM tasks: the machine's size and its root filesystem (a real overlay: root). */
class VmIsolatorsTest {
    private static final QemuUser QEMU = hostQemuUser();
    private static final long MIB = VmSizing.MIB;

    @TempDir
    Path dir;
    private VmResourcesIsolator resources;

    @BeforeEach
    void setUp() throws Exception {
        Path kernel = sized(dir.resolve("vmlinux"), 1 * MIB);
        Path initrd = sized(dir.resolve("initramfs.cpio"), 2 * MIB);
        // no VM runs: a launcher that has none to offer
        resources = new VmResourcesIsolator(new VmSizing(384 * MIB, kernel, initrd), id -> Optional.empty());
    }

    @Test
    void bothApplyToVmsOnly() {
        for (var isolator : new dev.vessel.core.spi.Isolator[] {resources, new VmRootfsIsolator(paths(), QEMU)}) {
            assertTrue(isolator.appliesTo(Isolation.VM), isolator.name());
            assertFalse(isolator.appliesTo(Isolation.PROCESS), isolator.name());
        }
    }

    @Test
    void vcpusComeFromTheVmOptionsThenTheCpusRoundedUpElseOne() throws Exception {
        assertEquals(3, vm(config().setVm(VmOptions.newBuilder().setVcpus(3))
                .setResources(Resources.newBuilder().setCpus(8))).getVcpus());
        assertEquals(2, vm(config().setResources(Resources.newBuilder().setCpus(1.5))).getVcpus());
        assertEquals(1, vm(config().setResources(Resources.newBuilder().setCpus(0.25))).getVcpus());
        assertEquals(1, vm(config()).getVcpus());
    }

    @Test
    void explicitGuestMemoryIsKeptAsAsked() throws Exception {
        // Even below the minimum: the launcher refuses it, naming vm.memory_bytes, rather than growing it silently.
        assertEquals(100 * MIB, vm(config().setVm(VmOptions.newBuilder().setMemoryBytes(100 * MIB))).getMemoryBytes());
        assertEquals(1024 * MIB, vm(config().setVm(VmOptions.newBuilder().setMemoryBytes(1024 * MIB))
                .setResources(Resources.newBuilder().setMemoryBytes(64 * MIB))).getMemoryBytes());
    }

    @Test
    void taskMemoryGetsTheGuestsOverheadOnTop() throws Exception {
        // kernel 1 MiB + initramfs twice (2 MiB each) + the agent's JVM
        long expected = 512 * MIB + 1 * MIB + 2 * 2 * MIB + VmSizing.AGENT_JVM_BYTES;
        assertEquals(expected, vm(config().setResources(Resources.newBuilder().setMemoryBytes(512 * MIB))).getMemoryBytes());
    }

    @Test
    void theContainersOwnArtifactsWeighInstead() throws Exception {
        Path bigInitrd = sized(dir.resolve("big.cpio"), 50 * MIB);
        long expected = 512 * MIB + 1 * MIB + 2 * 50 * MIB + VmSizing.AGENT_JVM_BYTES;
        assertEquals(expected, vm(config().setVm(VmOptions.newBuilder().setInitrd(bigInitrd.toString()))
                .setResources(Resources.newBuilder().setMemoryBytes(512 * MIB))).getMemoryBytes());
    }

    @Test
    void smallOrUnsetTaskMemoryStillGetsAViableGuest() throws Exception {
        assertEquals(384 * MIB, vm(config().setResources(Resources.newBuilder().setMemoryBytes(16 * MIB))).getMemoryBytes());
        assertEquals(VmSizing.DEFAULT_MEMORY_BYTES, vm(config()).getMemoryBytes());
    }

    @Test
    void updateNeedsARunningVmAndUsageOfNoneIsEmpty() throws Exception {
        var context = context(config().build());
        VesselException e = assertThrows(VesselException.class,
                () -> resources.update(context, Resources.newBuilder().setMemoryBytes(64 * MIB).build()));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
        assertEquals(ResourceStatistics.getDefaultInstance(), resources.usage(context));
    }

    /**
     * A rootfs the provisioner names no layers of (a copy, a bind): the view builds its own mapped layer,
     * through which QEMU's unprivileged user reads the image and the guest sees the image's owners and modes.
     */
    @Test
    void theRootfsIsolatorSharesAViewInQemusMappedModelOwnedByQemusUser() throws Exception {
        VmRootfsIsolator isolator = new VmRootfsIsolator(paths(), QEMU);
        assertEquals(Set.of(ContainerKeys.ROOTFS, ContainerKeys.IMAGE_LAYERS), isolator.requires());
        Path rootfs = Files.createDirectories(dir.resolve("rootfs/usr/bin"));
        Files.writeString(rootfs.resolve("busybox"), "#!");
        Files.setAttribute(rootfs.resolve("busybox"), "unix:mode", 04755);
        Files.createSymbolicLink(rootfs.resolve("sh"), Path.of("busybox"));
        Files.createSymbolicLink(dir.resolve("rootfs/bin"), Path.of("usr/bin"));
        Path etc = Files.createDirectories(dir.resolve("rootfs/etc"));
        Files.writeString(etc.resolve("shadow"), "root:secret");
        Files.setAttribute(etc.resolve("shadow"), "unix:mode", 0640);
        Files.setAttribute(etc.resolve("shadow"), "unix:gid", 42);
        Path dev = Files.createDirectories(dir.resolve("rootfs/dev"));
        DeviceNodes.create(dev.resolve("null"), DeviceNodes.Kind.CHARACTER, 0666, 1, 3);
        Files.setAttribute(dev.resolve("null"), "unix:mode", 0666); // past the umask
        var context = context(config().build());
        context.put(ContainerKeys.ROOTFS, dir.resolve("rootfs"));

        Path view = Path.of(isolator.prepare(context).getRootfs());
        Path viewDir = paths().vmRootfsDir(context.containerId());
        assertEquals(viewDir.resolve("merged"), view);
        assertTrue(Mounts.isMountPoint(view), "the view is not mounted");
        assertTrue(Files.isDirectory(viewDir.resolve("layer"), LinkOption.NOFOLLOW_LINKS), "no mapped layer of its own");
        assertFalse(Files.exists(paths().vmMappedLayersDir()), "a rootfs of no named layers went to the shared cache");
        // a symlink is a regular file holding its target, its type and owner in QEMU's xattrs
        Path sh = view.resolve("usr/bin/sh");
        assertTrue(Files.isRegularFile(sh, LinkOption.NOFOLLOW_LINKS), "usr/bin/sh is still a symlink");
        assertEquals("busybox", Files.readString(sh));
        assertGuestSees(sh, 0120777, 0, 0);
        assertEquals("usr/bin", Files.readString(view.resolve("bin")));
        // every entry: on the host, QEMU's user's own 0600 file or 0700 directory; the image's owner,
        // mode (the setuid program's included: the guest needs it) and type for the guest
        assertGuestSees(view.resolve("usr/bin/busybox"), 0104755, 0, 0);
        assertGuestSees(view.resolve("etc/shadow"), 0100640, 0, 42);
        assertGuestSees(view.resolve("usr/bin"), 040000 | (Integer) Files.getAttribute(rootfs, "unix:mode") & 07777, 0, 0);
        assertGuestSees(view, 040000 | (Integer) Files.getAttribute(dir.resolve("rootfs"), "unix:mode") & 07777, 0, 0);
        // a device node is a plain file that says what it stands for, never a device on the host
        Path devNull = view.resolve("dev/null");
        assertTrue(Files.isRegularFile(devNull, LinkOption.NOFOLLOW_LINKS), "dev/null is still a device");
        assertGuestSees(devNull, 020666, 0, 0);
        assertEquals(Files.getAttribute(dev.resolve("null"), "unix:rdev"),
                ByteBuffer.wrap(Xattrs.get(devNull, "user.virtfs.rdev").orElseThrow()).order(ByteOrder.LITTLE_ENDIAN).getLong());
        // the data stays in the rootfs: only metadata was copied up
        assertTrue(Xattrs.get(viewDir.resolve("layer/etc/shadow"), "trusted.overlay.metacopy").isPresent(),
                "the file's data was copied into the mapped layer");
        // QEMU's user reads the root-only file through the view; another unprivileged user does not
        QEMU.allowSearch(dir, viewDir);
        Files.setAttribute(dir, "unix:mode", 0711);
        assertEquals("root:secret", runAs(QEMU.uid(), "cat", view.resolve("etc/shadow").toString()));
        assertThrows(AssertionError.class, () -> runAs(65534, "cat", view.resolve("etc/shadow").toString()));
        // what is written goes to the view, never to the rootfs
        Files.writeString(view.resolve("new"), "x");
        assertFalse(Files.exists(dir.resolve("rootfs/new")));
        assertTrue(Files.isSymbolicLink(rootfs.resolve("sh")), "the rootfs was changed");
        assertEquals(0640, (Integer) Files.getAttribute(etc.resolve("shadow"), "unix:mode") & 07777);
        assertEquals(0, Files.getAttribute(etc.resolve("shadow"), "unix:uid"));

        isolator.cleanup(context);
        assertFalse(Files.exists(viewDir), "the view was left");
        assertTrue(Files.isSymbolicLink(rootfs.resolve("sh")), "cleanup reached into the rootfs");
        isolator.cleanup(context); // idempotent

        // recovery removes a view no live container owns
        isolator.prepare(context);
        isolator.recover(List.of());
        assertFalse(Files.exists(viewDir), "recovery left the view of a container that is gone");

        // a host_rootfs is the operator's directory, shared live and as it is: no view
        var hostRootfs = context(config().setHostRootfs(dir.resolve("rootfs").toString()).build());
        hostRootfs.put(ContainerKeys.ROOTFS, dir.resolve("rootfs"));
        assertEquals(dir.resolve("rootfs").toString(), isolator.prepare(hostRootfs).getRootfs());
        assertFalse(Files.exists(paths().vmRootfsDir(hostRootfs.containerId())), "a host_rootfs got a view");

        var without = context(config().build());
        assertEquals("root", assertThrows(VesselException.class, () -> isolator.prepare(without)).field().orElseThrow());
    }

    private static QemuUser hostQemuUser() {
        try {
            return QemuUser.ofHost();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private RuntimePaths paths() {
        return new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
    }

    /** On the host QEMU's user's own, owner-only; in QEMU's xattrs the image's {@code mode}, uid and gid. */
    private static void assertGuestSees(Path path, int mode, int uid, int gid) throws Exception {
        assertEquals(mode, le32(Xattrs.get(path, "user.virtfs.mode").orElseThrow()), path + ": mode");
        assertEquals(uid, le32(Xattrs.get(path, "user.virtfs.uid").orElseThrow()), path + ": uid");
        assertEquals(gid, le32(Xattrs.get(path, "user.virtfs.gid").orElseThrow()), path + ": gid");
        assertEquals(QEMU.uid(), Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS), path + ": host owner");
        assertEquals(QEMU.gid(), Files.getAttribute(path, "unix:gid", LinkOption.NOFOLLOW_LINKS), path + ": host group");
        int hostMode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
        assertEquals(Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS) ? 0700 : 0600, hostMode, path + ": host mode");
    }

    /** The output of {@code command} run as {@code uid}; an assertion error when it fails. */
    private static String runAs(int uid, String... command) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of("setpriv", "--reuid=" + uid, "--regid=" + uid,
                "--clear-groups", "--"));
        argv.addAll(List.of(command));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", argv) + ": " + out);
        return out;
    }

    private static int le32(byte[] value) {
        return ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    private dev.vessel.core.model.VmLaunchInfo vm(ContainerConfig.Builder config) throws Exception {
        LaunchInfo info = resources.prepare(context(config.build()));
        assertTrue(info.hasVm());
        return info.getVm();
    }

    private static ContainerConfig.Builder config() {
        return TestContainers.vmConfig("sized");
    }

    private static Path sized(Path file, long bytes) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(bytes);
        }
        return file;
    }

    private DirectPrepareContext context(ContainerConfig config) {
        Path containerDir = dir.resolve("run/containers").resolve(config.getId());
        return new DirectPrepareContext(config, containerDir, containerDir.resolve("isolators/x.ckpt"));
    }
}
