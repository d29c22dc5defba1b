package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LimitationReason;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.VmOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** VM tasks end to end: real guests booted by libvirt + QEMU (TCG here), the guest agent, the task inside. */
class VmTaskTest {
    private static VmNode node;
    private static ImageReference image;

    @BeforeAll
    static void startNode() throws Exception {
        node = VmNode.inNewDir("vessel-vmtest-");
        image = VmNode.busyboxImage(node.dir);
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.destroyAllCloseAndDeleteDir();
        }
    }

    private static ContainerConfig.Builder vmTask(String id, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM)
                .setImage(image)
                .addAllCommand(List.of("/bin/sh", "-c", script));
    }

    private static Termination run(ContainerConfig config) throws Exception {
        node.containerizer.launch(config);
        return node.containerizer.wait(config.getId()).get(5, TimeUnit.MINUTES);
    }

    private static String stdout(String id) throws Exception {
        return Files.readString(node.paths.stdoutLog(node.paths.containerDir(List.of(id))));
    }

    @Test
    void aTaskFromABusyboxImageRunsInTheGuestUnderSeccompWithItsOutputAndExitCode() throws Exception {
        // the guest's chain gives the task the default seccomp filter: unshare, allowed without
        // capabilities by the kernel, fails with EPERM
        Termination t = run(vmTask("vm-hi", "echo hi; echo oops >&2; grep -E '^Seccomp' /proc/self/status;"
                + " unshare -U true 2>/dev/null || echo unshare denied; exit 3").build());
        assertEquals(TerminationReason.EXITED, t.getReason(), t::toString);
        assertEquals(3, t.getExitCode(), t::toString);
        assertEquals("hi\nSeccomp:\t2\nSeccomp_filters:\t1\nunshare denied\n", stdout("vm-hi"));
        assertEquals("oops\n", Files.readString(node.paths.stderrLog(node.paths.containerDir(List.of("vm-hi")))));
        node.containerizer.remove("vm-hi");
    }

    @Test
    void aTaskThatAllocatesPastItsMemoryLimitEndsWithOom() throws Exception {
        // tail keeps the whole "line" of /dev/zero in memory: it grows until the guest's cgroup stops it
        Termination t = run(vmTask("vm-oom", "tail /dev/zero")
                .setResources(Resources.newBuilder().setMemoryBytes(48L << 20)).build());
        assertEquals(TerminationReason.LIMITATION, t.getReason(), t::toString);
        assertEquals(LimitationReason.OOM, t.getLimitation().getReason(), t::toString);
        node.containerizer.remove("vm-oom");
    }

    @Test
    void sigtermReachesTheTaskInTheGuest() throws Exception {
        node.containerizer.launch(vmTask("vm-term",
                "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done").build());
        node.awaitStdout("vm-term", "ready\n");
        node.containerizer.kill("vm-term", 15);
        Termination t = node.containerizer.wait("vm-term").get(2, TimeUnit.MINUTES);
        assertEquals(7, t.getExitCode(), t::toString);
        assertEquals("ready\ngot TERM\n", stdout("vm-term"));
        node.containerizer.remove("vm-term");
    }

    @Test
    void updateAndUsageReachTheTaskInsideTheGuest() throws Exception {
        node.containerizer.launch(vmTask("vm-update", "echo up; sleep 1000")
                .setResources(Resources.newBuilder().setMemoryBytes(64L << 20)).build());
        node.awaitStdout("vm-update", "up\n");
        assertEquals(64L << 20, node.containerizer.usage("vm-update").getMemoryLimitBytes());

        node.containerizer.update("vm-update", Resources.newBuilder().setMemoryBytes(96L << 20).build());
        var usage = node.containerizer.usage("vm-update");
        assertEquals(96L << 20, usage.getMemoryLimitBytes(), usage::toString);
        assertTrue(usage.getMemoryUsageBytes() > 0, usage::toString);
        node.containerizer.destroy("vm-update");
        node.containerizer.remove("vm-update");
    }

    @Test
    void destroyLeavesNoDomainSocketOrFile() throws Exception {
        node.containerizer.launch(vmTask("vm-gone", "echo up; sleep 1000").build());
        node.awaitStdout("vm-gone", "up\n");
        long qemu = node.containerizer.status("vm-gone").getPid();
        assertTrue(VmNode.domains().stream().anyMatch(d -> d.contains("vm-gone")), () -> "no domain for vm-gone");
        Path containerDir = node.paths.containerDir(List.of("vm-gone"));

        Termination t = node.containerizer.destroy("vm-gone");
        assertEquals(TerminationReason.KILLED, t.getReason(), t::toString);
        node.containerizer.remove("vm-gone");
        assertFalse(VmNode.domains().stream().anyMatch(d -> d.contains("vm-gone")), () -> "domain left: " + domains());
        assertFalse(ProcessHandle.of(qemu).map(ProcessHandle::isAlive).orElse(false), "QEMU still runs");
        assertFalse(Files.exists(containerDir), "container dir left: " + containerDir);
        assertFalse(Files.exists(node.paths.provisionedRootfsDir("vm-gone")), "rootfs left");
    }

    @Test
    void badVmConfigsAreRefusedNamingTheFieldAndDefineNothing() throws Exception {
        VesselException small = assertThrows(VesselException.class, () -> node.containerizer.launch(vmTask("vm-small", "true")
                .setVm(VmOptions.newBuilder().setMemoryBytes(128L << 20)).build()));
        assertEquals(Optional.of("vm.memory_bytes"), small.field(), small::getMessage);
        VesselException kernel = assertThrows(VesselException.class, () -> node.containerizer.launch(vmTask("vm-kernel", "true")
                .setVm(VmOptions.newBuilder().setKernel("/nonexistent/vmlinux")).build()));
        assertEquals(Optional.of("vm.kernel"), kernel.field(), kernel::getMessage);
        assertTrue(kernel.getMessage().contains("/nonexistent/vmlinux"), kernel::getMessage);
        assertFalse(VmNode.domains().stream().anyMatch(d -> d.contains("vm-small") || d.contains("vm-kernel")), VmTaskTest::domains);
        assertFalse(node.containerizer.list().stream().anyMatch(s -> s.getId().equals("vm-small") || s.getId().equals("vm-kernel")));
    }

    private static String domains() {
        try {
            return String.join(", ", VmNode.domains());
        } catch (Exception e) {
            return e.toString();
        }
    }
}
