package dev.vessel.vmtests;

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
 * cloud image under TCG: created and configured by cloud-init, still running after the daemon is
 * SIGKILLed and restarted, stopped by ACPI and started again with what its first boot wrote, refused
 * where it should be, and removed with its disk, the base image unchanged.
 */
class MachineLifecycleTest {
    private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxpZmVjeWNsZS10ZXN0LWtleS1ub3QtZm9yLXVzZQ lifecycle";
    private MachineDaemon machines;
    private Path dir;

    @BeforeEach
    void setUp() throws Exception {
        machines = MachineDaemon.start("vessel-vmlife-");
        dir = machines.dir;
    }

    @AfterEach
    void tearDown() throws Exception {
        if (machines != null) {
            machines.close();
        }
    }

    @Test
    void aVmIsCreatedRunsThroughARestartStopsStartsAndIsRemovedLeavingTheBaseAsItWas() throws Exception {
        VmNode.CloudImage image = VmNode.cloudImage();
        String before = VmNode.sha256(image.disk());
        Path key = Files.writeString(dir.resolve("id.pub"), KEY + "\n");
        Path userData = Files.writeString(dir.resolve("user-data"), String.join("\n",
                "#cloud-config",
                "bootcmd:",
                "  - [sh, -c, 'echo \"VESSEL-BOOT $(cat /var/lib/vessel-first-boot 2>/dev/null || echo none)\" > /dev/ttyS0']",
                "runcmd:",
                "  - [sh, -c, 'echo first-boot > /var/lib/vessel-first-boot && sync']",
                "  - [sh, -c, 'echo \"VESSEL-RUNCMD $(hostname) $(cat /home/" + image.defaultUser()
                        + "/.ssh/authorized_keys)\" > /dev/ttyS0']",
                ""));

        VmNode.Cli create = cli("vm", "create", "web", "--image", image.disk().toString(), "--memory", "1g",
                "--ssh-key", key.toString(), "--user-data", userData.toString(), "--hostname", "vessel-web");
        assertEquals(0, create.code(), create::toString);
        awaitConsole("web", "VESSEL-RUNCMD vessel-web " + KEY);
        JsonNode running = vm("web");
        assertEquals("running", running.path("state").asText(), running::toString);
        Path disk = Path.of(running.path("disk").asText());
        assertTrue(Files.isRegularFile(disk), "no disk at " + disk);
        long qemu = running.path("boot").path("pid").asLong();

        // the daemon dies; the VM does not, and the restarted daemon finds it
        machines.killAndRestart();
        JsonNode found = vm("web");
        assertEquals("running", found.path("state").asText(), found::toString);
        assertEquals(qemu, found.path("boot").path("pid").asLong());

        // refusals change nothing: a taken name, an image that is no image, a running VM removed without force
        VmNode.Cli twice = cli("vm", "create", "web", "--image", image.disk().toString());
        assertNotEquals(0, twice.code());
        assertTrue(twice.err().contains("exists"), twice::toString);
        Path notAnImage = Files.writeString(dir.resolve("notes.qcow2"), "not an image");
        VmNode.Cli bad = cli("vm", "create", "bad", "--image", notAnImage.toString());
        assertNotEquals(0, bad.code());
        assertTrue(bad.err().contains("vm.machine.base_image"), bad::toString);
        assertFalse(Files.exists(machines.process().stateDir().resolve("machines/bad")), "a refused VM left its directory");
        VmNode.Cli rmRunning = cli("vm", "rm", "web");
        assertNotEquals(0, rmRunning.code());
        assertTrue(Files.isRegularFile(disk));

        VmNode.Cli stop = cli("vm", "stop", "web");
        assertEquals(0, stop.code(), stop::toString);
        assertEquals("stopped", vm("web").path("state").asText());
        assertFalse(VmNode.isRunning(qemu), "QEMU runs on after the stop");

        VmNode.Cli start = cli("vm", "start", "web");
        assertEquals(0, start.code(), start::toString);
        String again = awaitConsole("web", "VESSEL-BOOT ");
        assertTrue(again.contains("VESSEL-BOOT first-boot"), () -> "the first boot's file is gone:\n" + again);
        VmNode.Cli ls = cli("vm", "ls");
        assertTrue(ls.out().lines().anyMatch(l -> l.startsWith("web") && l.contains("running")), ls::toString);

        VmNode.Cli rm = cli("vm", "rm", "-f", "web");
        assertEquals(0, rm.code(), rm::toString);
        assertFalse(Files.exists(disk), "the VM's disk is left");
        VmNode.awaitNoDomain(DomainNames.forContainer("vm-web"));
        assertEquals("{\"vms\":[]}", cli("vm", "ls", "--json").out().strip());
        assertEquals(before, VmNode.sha256(image.disk()), "the base image was written");
    }

    private VmNode.Cli cli(String... args) throws Exception {
        return machines.cli(args);
    }

    private JsonNode vm(String name) throws Exception {
        return machines.vm(name);
    }

    /** {@code vessel vm logs} once it holds {@code text}; a boot of the cloud image takes about a minute under TCG. */
    private String awaitConsole(String name, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(6);
        String console = "";
        while (System.nanoTime() < deadline) {
            console = cli("vm", "logs", name).out();
            if (console.contains(text)) {
                return console;
            }
            Thread.sleep(2000);
        }
        throw new AssertionError(name + ": the console never showed '" + text + "':\n" + console);
    }
}
