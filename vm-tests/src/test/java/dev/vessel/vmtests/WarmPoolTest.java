package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.FetchUri;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.VmOptions;
import dev.vessel.linux.Mounts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * VM tasks served by guests booted ahead of demand (the warm pool): real guests, real libvirt. Which
 * guest ran a task is told by its QEMU: the task's pid is the pid of the QEMU that serves it.
 */
class WarmPoolTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private Path dir;
    private ImageReference image;
    private VmNode node;

    @BeforeEach
    void startNode() throws Exception {
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-warmtest-");
        image = VmNode.busyboxImage(dir);
        node = new VmNode(dir).recovered();
        node.launcher.startWarmPool(1);
    }

    @AfterEach
    void stopNode() throws Exception {
        if (node != null) {
            node.destroyAllAndClose();
            // closing the launcher ends its pool: no warm guest, domain or mount may remain
            assertEquals(List.of(), warmDirs(), "warm guests' directories left");
            assertEquals(List.of(), mountsBelow(dir), "mounts left");
        }
        VmNode.run("rm", "-rf", dir.toString());
    }

    private ContainerConfig.Builder vmTask(String id, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).setImage(image)
                .addAllCommand(List.of("/bin/sh", "-c", script));
    }

    @Test
    void aTaskRunsInTheWarmGuestWhichIsThenGoneAndReplaced() throws Exception {
        String warm = awaitWarmGuest(null);
        long warmQemu = qemuPid(warm);
        // its warm-up mounted both exports of its share (the task's launch then only binds one)
        List<Integer> requests = ninePRequests(warm);
        assertEquals(2, requests.size(), requests::toString);
        assertTrue(requests.stream().allMatch(n -> n > 0), "a share not mounted ahead: " + requests);

        node.containerizer.launch(vmTask("warm-hi", "echo hi; echo oops >&2; exit 3")
                .setResources(Resources.newBuilder().setMemoryBytes(64L << 20)).build());
        assertEquals(warmQemu, node.containerizer.status("warm-hi").getPid(), "the task did not get the warm guest");
        Termination t = node.containerizer.wait("warm-hi").get(3, TimeUnit.MINUTES);

        assertEquals(TerminationReason.EXITED, t.getReason(), t::toString);
        assertEquals(3, t.getExitCode(), t::toString);
        assertEquals("hi\n", Files.readString(node.paths.stdoutLog(node.paths.containerDir(List.of("warm-hi")))));
        assertEquals("oops\n", Files.readString(node.paths.stderrLog(node.paths.containerDir(List.of("warm-hi")))));
        assertFalse(VmNode.isRunning(warmQemu), "the used guest's QEMU runs on");
        assertFalse(Files.exists(node.paths.vmPoolDir().resolve(warm)), "the used guest's directory is left");
        node.containerizer.remove("warm-hi");
        assertFalse(Files.exists(node.paths.provisionedRootfsDir("warm-hi")), "rootfs left");
        VmNode.awaitNoDomain(warm);

        String replacement = awaitWarmGuest(warm);
        assertNotEquals(warm, replacement);
    }

    @Test
    void aWarmGuestTakesItsTasksWeightAndCapAndDestroyingTheTaskLeavesNoDomainMountOrFile() throws Exception {
        String warm = awaitWarmGuest(null);
        assertEquals(1024, VmNode.domainCpuShares(qemuPid(warm)), "a warm guest weighs a task without resources");
        assertEquals(-1, VmNode.domainCpuQuotaAndPeriod(qemuPid(warm))[0], "a waiting warm guest is capped");
        node.containerizer.launch(vmTask("warm-gone", "echo up; sleep 1000")
                .setResources(Resources.newBuilder().setCpuShares(100).setCpus(0.5)).build());
        node.awaitStdout("warm-gone", "up\n");
        long qemu = node.containerizer.status("warm-gone").getPid();
        assertEquals(qemuPid(warm), qemu, "the task did not get the warm guest");
        assertEquals(100, VmNode.domainCpuShares(qemu), "the guest did not take the task's weight");
        assertEquals(50_000, VmNode.domainCpuQuotaAndPeriod(qemu)[0], "the guest did not take the task's cap");
        assertTrue(mountsBelow(node.paths.vmPoolDir().resolve(warm)).size() >= 2, "no rootfs bound into the share");

        Termination t = node.containerizer.destroy("warm-gone");
        assertEquals(TerminationReason.KILLED, t.getReason(), t::toString);
        node.containerizer.remove("warm-gone");
        assertFalse(VmNode.domains().contains(warm), "domain left");
        assertFalse(ProcessHandle.of(qemu).map(ProcessHandle::isAlive).orElse(false), "QEMU still runs");
        assertFalse(Files.exists(node.paths.vmPoolDir().resolve(warm)), "the guest's directory is left");
        assertEquals(List.of(), mountsBelow(node.paths.vmPoolDir().resolve(warm)));
        assertFalse(Files.exists(node.paths.provisionedRootfsDir("warm-gone")), "rootfs left");
    }

    @Test
    void aTaskThatDoesNotFitTheWarmGuestBootsItsOwnAndLeavesTheWarmOneWaiting() throws Exception {
        String warm = awaitWarmGuest(null);
        node.containerizer.launch(vmTask("warm-big", "echo big; exit 0")
                .setVm(VmOptions.newBuilder().setMemoryBytes(640L << 20)).build());
        assertNotEquals(qemuPid(warm), node.containerizer.status("warm-big").getPid());
        Termination t = node.containerizer.wait("warm-big").get(3, TimeUnit.MINUTES);
        assertEquals(0, t.getExitCode(), t::toString);
        assertEquals("big\n", Files.readString(node.paths.stdoutLog(node.paths.containerDir(List.of("warm-big")))));
        node.containerizer.remove("warm-big");
        assertEquals(1, node.launcher.warmGuestsReady());
        assertEquals(List.of(warm), warmDirs(), "the warm guest was used or replaced");
    }

    /** A task that fetches has its sandbox shared with its guest, which a warm guest booted without it cannot take. */
    @Test
    void aTaskThatFetchesBootsItsOwnGuestWithItsSandbox() throws Exception {
        String warm = awaitWarmGuest(null);
        Path hello = Files.writeString(dir.resolve("hello.txt"), "fetched\n");
        node.containerizer.launch(vmTask("warm-fetch", "cat /vessel/sandbox/hello.txt")
                .addUris(FetchUri.newBuilder().setUri(hello.toUri().toString())).build());
        assertNotEquals(qemuPid(warm), node.containerizer.status("warm-fetch").getPid());
        Termination t = node.containerizer.wait("warm-fetch").get(3, TimeUnit.MINUTES);
        assertEquals(0, t.getExitCode(), t::toString);
        assertEquals("fetched\n", Files.readString(node.paths.stdoutLog(node.paths.containerDir(List.of("warm-fetch")))));
        node.containerizer.remove("warm-fetch");
        assertEquals(List.of(warm), warmDirs(), "the warm guest was used or replaced");
    }

    @Test
    void aRestartedNodeFindsTheTaskOfAWarmGuestAndItsExit() throws Exception {
        String warm = awaitWarmGuest(null);
        node.containerizer.launch(vmTask("warm-survivor",
                "echo started; while [ ! -e /tmp/gate ]; do sleep 0.1; done; echo finished; exit 4").build());
        node.awaitStdout("warm-survivor", "started\n");
        assertEquals(qemuPid(warm), node.containerizer.status("warm-survivor").getPid());

        node.close(); // the daemon goes: the task's guest runs on, the pool's idle guests go
        // the task's rootfs, bound into the guest's share: the guest sees the file through 9p
        Files.createFile(node.paths.vmPoolDir().resolve(warm).resolve("share/root/tmp/gate"));
        node = new VmNode(dir).recovered();

        Termination t = node.containerizer.wait("warm-survivor").get(3, TimeUnit.MINUTES);
        assertEquals(4, t.getExitCode(), t::toString);
        assertEquals("started\nfinished\n",
                Files.readString(node.paths.stdoutLog(node.paths.containerDir(List.of("warm-survivor")))));
        assertFalse(Files.exists(node.paths.vmPoolDir().resolve(warm)), "the guest's directory is left");
        node.containerizer.remove("warm-survivor");
        VmNode.awaitNoDomain(warm);
    }

    /** Waits until a warm guest other than {@code not} is ready; returns its domain name. */
    private String awaitWarmGuest(String not) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < deadline) {
            List<String> dirs = warmDirs();
            if (node.launcher.warmGuestsReady() == 1 && dirs.size() == 1 && !dirs.get(0).equals(not)) {
                return dirs.get(0);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no warm guest became ready; directories: " + warmDirs());
    }

    private List<String> warmDirs() throws Exception {
        Path pool = node.paths.vmPoolDir();
        if (!Files.isDirectory(pool)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(pool)) {
            return dirs.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /**
     * How many requests the guest of {@code domain} has made of each of its 9p devices, from QEMU's view of their
     * request queue ({@code used-idx}): none until the guest mounts the share.
     */
    static List<Integer> ninePRequests(String domain) throws Exception {
        List<Integer> requests = new ArrayList<>();
        for (JsonNode device : qmp(domain, "{\"execute\":\"x-query-virtio\"}")) {
            if (device.path("name").asText().equals("virtio-9p")) {
                requests.add(qmp(domain, "{\"execute\":\"x-query-virtio-queue-status\",\"arguments\":{\"path\":\""
                        + device.path("path").asText() + "\",\"queue\":0}}").path("used-idx").asInt());
            }
        }
        return requests;
    }

    private static JsonNode qmp(String domain, String command) throws Exception {
        return JSON.readTree(VmNode.run("virsh", "qemu-monitor-command", domain, command)).path("return");
    }

    /** The pid of the QEMU of libvirt's domain {@code domain}, from libvirt's pid file. */
    static long qemuPid(String domain) throws Exception {
        return Long.parseLong(Files.readString(Path.of("/run/libvirt/qemu", domain + ".pid")).trim());
    }

    private static List<Path> mountsBelow(Path root) throws Exception {
        return Mounts.mountPoints().stream().filter(p -> p.startsWith(root)).toList();
    }
}
