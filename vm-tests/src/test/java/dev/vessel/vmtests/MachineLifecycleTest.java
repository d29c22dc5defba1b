package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vessel.launcher.vm.domain.DomainNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A long-lived VM's life through the real daemon and CLI ({@code vessel vm}), booting the Debian
 * cloud image under TCG: created and configured by cloud-init, logged into on its serial console and
 * detached from, still running after the daemon is SIGKILLed and restarted, its console log followed
 * to its end, stopped by ACPI and started again with what its first boot wrote, rebooted, refused
 * where it should be, and removed with its disk, the base image unchanged.
 */
class MachineLifecycleTest {
    private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxpZmVjeWNsZS10ZXN0LWtleS1ub3QtZm9yLXVzZQ lifecycle";
    private static final String PASSWORD = "vessel-console-pw";
    private MachineDaemon node;

    @BeforeEach
    void setUp() throws Exception {
        node = MachineDaemon.start("vmlife");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void aVmIsCreatedRunsThroughARestartStopsStartsAndIsRemovedLeavingTheBaseAsItWas() throws Exception {
        VmNode.CloudImage image = VmNode.cloudImage();
        String before = VmNode.sha256(image.disk());
        Path key = Files.writeString(node.dir.resolve("id.pub"), KEY + "\n");
        Path userData = Files.writeString(node.dir.resolve("user-data"), String.join("\n",
                "#cloud-config",
                "bootcmd:",
                "  - [sh, -c, 'echo \"VESSEL-BOOT $(cat /var/lib/vessel-first-boot 2>/dev/null || echo none)\" > /dev/ttyS0']",
                "chpasswd:",
                "  expire: false",
                "  users:",
                "    - {name: " + image.defaultUser() + ", password: " + PASSWORD + ", type: text}",
                "runcmd:",
                "  - [sh, -c, 'echo first-boot > /var/lib/vessel-first-boot && sync']",
                "  - [sh, -c, 'echo \"VESSEL-VDB $(cat /sys/block/vdb/size)\" > /dev/ttyS0']",
                "  - [sh, -c, 'echo \"VESSEL-RUNCMD $(hostname) $(cat /home/" + image.defaultUser()
                        + "/.ssh/authorized_keys)\" > /dev/ttyS0']",
                ""));

        // a qcow2 data disk of 64 MiB: the guest sees its virtual size (as raw it would see the file's few KiB)
        Path data = node.dir.resolve("data.qcow2");
        VmNode.run("qemu-img", "create", "-q", "-f", "qcow2", data.toString(), "64M");
        VmNode.Cli create = node.cli("vm", "create", "web", "--image", image.disk().toString(), "--memory", "1g",
                "--disk", data + ",format=qcow2", "--cpu-shares", "512", "--ssh-key", key.toString(),
                "--user-data", userData.toString(),
                "--hostname", "vessel-web");
        assertEquals(0, create.code(), create::toString);
        node.awaitConsole("web", "VESSEL-RUNCMD vessel-web " + KEY);
        node.awaitConsole("web", "VESSEL-VDB 131072");
        JsonNode running = node.vm("web");
        assertEquals("running", running.path("state").asText(), running::toString);
        Path disk = Path.of(running.path("disk").asText());
        assertTrue(Files.isRegularFile(disk), "no disk at " + disk);
        long qemu = running.path("boot").path("pid").asLong();
        // its weight on the host, as OpenStack's quota:cpu_shares; vm update changes it live and for later boots
        assertEquals(512, VmNode.domainCpuShares(qemu));
        VmNode.Cli weighed = node.cli("vm", "update", "--cpu-shares", "2048", "web");
        assertEquals(0, weighed.code(), weighed::toString);
        assertEquals(2048, VmNode.domainCpuShares(qemu));
        VmNode.Cli light = node.cli("vm", "update", "--cpu-shares", "1", "web");
        assertTrue(light.err().contains("cpu_shares") && light.err().contains("from 2 to 262144"), light::toString);
        // and its CPU limit, its vCPUs and QEMU's threads together; what an update does not give stays
        VmNode.Cli limited = node.cli("vm", "update", "--cpu-limit", "1.5", "web");
        assertEquals(0, limited.code(), limited::toString);
        assertArrayEquals(new long[] {150_000, 100_000}, VmNode.domainCpuQuotaAndPeriod(qemu));
        assertEquals(2048, VmNode.domainCpuShares(qemu), "an update of the limit changed the weight");
        VmNode.Cli negative = node.cli("vm", "update", "--cpu-limit", "-1", "web");
        assertTrue(negative.err().contains("cpu_limit"), negative::toString);
        assertEquals(150_000, VmNode.domainCpuQuotaAndPeriod(qemu)[0], "a refused update changed the limit");
        // its boot's update changes the weight alone: its vCPUs and memory are its machine's
        VmNode.Cli resized = node.cli("update", "--memory", "2g", "vm-web");
        assertNotEquals(0, resized.code());
        assertTrue(resized.err().contains("resources") && resized.err().contains("full VM"), resized::toString);
        assertEquals(2048, VmNode.domainCpuShares(qemu), "a refused update changed the weight");
        // its statistics are its QEMU's: booting the guest took CPU time, and the guest holds memory
        String stats = node.api().get("/v1/containers/vm-web/stats").body();
        JsonNode usage = new com.fasterxml.jackson.databind.ObjectMapper().readTree(stats);
        assertTrue(usage.path("cpu_nanos").asLong() > 1_000_000_000L
                && usage.path("memory_usage_bytes").asLong() > (64L << 20), stats);

        // the serial console, interactively: log in, run a command, detach with Ctrl-]; one user at a time
        Process console = node.cliProcess("vm", "console", "web");
        Collected screen = new Collected(console.getInputStream());
        screen.typeUntil(console, "\r", "login:");
        screen.typeUntil(console, image.defaultUser() + "\r", "Password:");
        screen.typeUntil(console, PASSWORD + "\r", "$ ");
        screen.typeUntil(console, "echo console-$((6*7))\r", "console-42");
        VmNode.Cli second = node.cli("vm", "console", "web");
        assertNotEquals(0, second.code());
        assertTrue(second.err().contains("attached"), second::toString);
        console.getOutputStream().write(0x1d);
        console.getOutputStream().flush();
        assertTrue(console.waitFor(30, TimeUnit.SECONDS), "Ctrl-] did not detach");
        assertEquals(0, console.exitValue());
        assertTrue(new String(console.getErrorStream().readAllBytes()).contains("Detached"));
        assertEquals("running", node.vm("web").path("state").asText(), "detaching stopped the VM");
        assertTrue(node.cli("vm", "logs", "web").out().contains("console-42"), "the console log misses the session");

        // the daemon dies; the VM does not, and the restarted daemon finds it
        node.killAndRestart();
        JsonNode found = node.vm("web");
        assertEquals("running", found.path("state").asText(), found::toString);
        assertEquals(qemu, found.path("boot").path("pid").asLong());

        // refusals change nothing: a taken name, an image that is no image, a running VM removed without force
        VmNode.Cli twice = node.cli("vm", "create", "web", "--image", image.disk().toString());
        assertNotEquals(0, twice.code());
        assertTrue(twice.err().contains("exists"), twice::toString);
        Path notAnImage = Files.writeString(node.dir.resolve("notes.qcow2"), "not an image");
        VmNode.Cli bad = node.cli("vm", "create", "bad", "--image", notAnImage.toString());
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("vm.machine.base_image"), bad::toString);
        assertFalse(Files.exists(node.stateDir().resolve("machines/bad")), "a refused VM left its directory");
        VmNode.Cli rmRunning = node.cli("vm", "rm", "web");
        assertNotEquals(0, rmRunning.code());
        assertTrue(Files.isRegularFile(disk));

        // a follower of the console's log streams it until the VM stops, then ends by itself
        Process follower = node.cliProcess("vm", "logs", "-f", "web");
        Collected followed = new Collected(follower.getInputStream());
        Thread.sleep(1000);
        assertTrue(follower.isAlive(), "vm logs -f ended while the VM runs");
        VmNode.Cli stop = node.cli("vm", "stop", "web");
        assertEquals(0, stop.code(), stop::toString);
        assertEquals("stopped", node.vm("web").path("state").asText());
        assertFalse(VmNode.isRunning(qemu), "QEMU runs on after the stop");
        assertTrue(follower.waitFor(30, TimeUnit.SECONDS), "vm logs -f did not end with the VM");
        assertEquals(0, follower.exitValue());
        byte[] wholeLog = Files.readAllBytes(Path.of(node.vm("web").path("console_log").asText()));
        assertTrue(wholeLog.length > 0);
        byte[] streamed = followed.all();
        assertEquals(wholeLog.length, streamed.length, "vm logs -f did not stream the whole console log to the end");
        assertTrue(java.util.Arrays.equals(wholeLog, streamed), "vm logs -f streamed other bytes than the log's");

        VmNode.Cli start = node.cli("vm", "start", "web");
        assertEquals(0, start.code(), start::toString);
        String again = node.awaitConsole("web", "VESSEL-BOOT ");
        assertTrue(again.contains("VESSEL-BOOT first-boot"), () -> "the first boot's file is gone:\n" + again);
        long nextQemu = node.vm("web").path("boot").path("pid").asLong();
        assertEquals(2048, VmNode.domainCpuShares(nextQemu), "the updated weight is the next boot's");
        assertEquals(150_000, VmNode.domainCpuQuotaAndPeriod(nextQemu)[0], "the updated limit is the next boot's");
        VmNode.Cli unlimited = node.cli("vm", "update", "--cpu-limit", "0", "web");
        assertEquals(0, unlimited.code(), unlimited::toString);
        assertEquals(-1, VmNode.domainCpuQuotaAndPeriod(nextQemu)[0], "a limit of 0 lifts it");
        // a hard reboot is a fresh boot of the same disk
        long secondQemu = node.vm("web").path("boot").path("pid").asLong();
        VmNode.Cli reboot = node.cli("vm", "reboot", "--force", "web");
        assertEquals(0, reboot.code(), reboot::toString);
        JsonNode rebooted = node.vm("web");
        assertEquals("running", rebooted.path("state").asText(), rebooted::toString);
        assertNotEquals(secondQemu, rebooted.path("boot").path("pid").asLong(), "reboot kept the old QEMU");
        assertFalse(VmNode.isRunning(secondQemu), "the old QEMU runs on after the reboot");
        VmNode.Cli ls = node.cli("vm", "ls");
        assertTrue(ls.out().lines().anyMatch(l -> l.startsWith("web") && l.contains("running")), ls::toString);

        VmNode.Cli rm = node.cli("vm", "rm", "-f", "web");
        assertEquals(0, rm.code(), rm::toString);
        assertFalse(Files.exists(disk), "the VM's disk is left");
        VmNode.awaitNoDomain(DomainNames.forContainer("vm-web"));
        assertEquals("{\"vms\":[]}", node.cli("vm", "ls", "--json").out().strip());
        assertEquals(before, VmNode.sha256(image.disk()), "the base image was written");
    }
}
