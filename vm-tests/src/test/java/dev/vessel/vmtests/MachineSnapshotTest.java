package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.launcher.vm.domain.DomainNames;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A long-lived VM's disk snapshots and images through the real daemon and CLI, on the Debian cloud
 * image, without waiting for a guest to boot: a snapshot taken by QEMU while the guest boots, then
 * data written into the stopped disk with qemu-io, snapshotted, overwritten and restored, each state
 * read back; images flattened from the running and the stopped VM, standalone and equal to the disk;
 * refusals that name their field and change nothing; the base image byte for byte as it was. And a
 * booted guest's memory snapshotted with its disk and put back live: a shell's variable, changed after
 * the snapshot, has its value from before in the same shell, in the same QEMU, and again once the stopped
 * VM is started from the snapshot (after a daemon killed half way through that start left nothing of it).
 */
class MachineSnapshotTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** libvirt's domain names are the host's: VMs of tests running beside this one have other names. */
    private final String web = "snap-web-" + ProcessHandle.current().pid();
    private final String clone = "snap-clone-" + ProcessHandle.current().pid();
    private MachineDaemon machines;
    private Path dir;

    @BeforeEach
    void setUp() throws Exception {
        machines = MachineDaemon.start("vmsnap");
        dir = machines.dir;
    }

    @AfterEach
    void tearDown() throws Exception {
        if (machines != null) {
            machines.close();
        }
    }

    @Test
    void aVmsDiskIsSnapshottedRunningAndStoppedRestoredAndImagedLeavingTheBaseAsItWas() throws Exception {
        Path base = VmNode.cloudImage().disk();
        String baseBefore = VmNode.sha256(base);
        ok(cli("vm", "create", web, "--image", base.toString()));
        Path disk = Path.of(vm(web).path("disk").asText());

        // running: QEMU takes the snapshot while the guest boots
        ok(cli("vm", "snapshot", web, "booting"));
        VmNode.Cli runs = cli("vm", "restore", web, "booting");
        refused(runs, "vm: ", "stop it first");
        Path fromRunning = dir.resolve("from-running.qcow2");
        ok(cli("vm", "image", web, fromRunning.toString()));
        assertEquals("running", vm(web).path("state").asText(), "imaging stopped the VM");
        ok(cli("vm", "stop", "-f", web));
        assertEquals(List.of("booting"), snapshotNames(disk), "the image's own snapshot was left");

        // stopped: qemu-img takes and applies them; the running one is applied the same way
        qemuIo(disk, "write -P 0xaa 1M 64k");
        ok(cli("vm", "snapshot", web, "patterned"));
        qemuIo(disk, "write -P 0xbb 1M 64k");
        ok(cli("vm", "restore", web, "patterned"));
        qemuIo(disk, "read -P 0xaa 1M 64k");
        ok(cli("vm", "restore", web, "booting"));
        assertFalse(qemuIoMatches(disk, "read -P 0xaa 1M 64k"), "the snapshot taken while running holds later data");
        ok(cli("vm", "restore", web, "patterned"));

        Path image = dir.resolve("image.qcow2");
        VmNode.Cli imaged = cli("vm", "image", web, image.toString());
        ok(imaged);
        assertEquals(image.toString(), imaged.out().strip());
        for (Path standalone : List.of(image, fromRunning)) {
            JsonNode info = JSON.readTree(VmNode.run("qemu-img", "info", "--output=json", "-f", "qcow2",
                    standalone.toString()));
            assertFalse(info.has("backing-filename"), () -> standalone + " has a backing file: " + info);
            assertEquals(JSON.readTree(VmNode.run("qemu-img", "info", "-U", "--output=json", "-f", "qcow2",
                    disk.toString())).path("virtual-size").asLong(), info.path("virtual-size").asLong());
        }
        VmNode.run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", image.toString(), disk.toString());

        // refusals name their field and change nothing
        String imageBefore = VmNode.sha256(image);
        List<String> snapshotsBefore = snapshotNames(disk);
        refused(cli("vm", "snapshot", web, "patterned"), "name: ", "has a snapshot named 'patterned'");
        refused(cli("vm", "snapshot", web, "bad name"), "name: ", "must be 1 to 60");
        refused(cli("vm", "snapshot", web, "42"), "name: ", "starting with a letter");
        refused(cli("vm", "restore", web, "never-taken"), "snapshot: ", "'never-taken'");
        refused(cli("vm", "snapshot", "--delete", web, "never-taken"), "snapshot: ", "'never-taken'");
        refused(cli("vm", "image", web, image.toString()), "path: ", "exists");
        refused(cli("vm", "image", web, dir.resolve("x.img").toString(), "--format", "vmdk"), "format: ", "vmdk");
        refused(cli("vm", "snapshot", "nope", "s"), "vm: ", "no VM named 'nope'");
        refused(cli("vm", "image", "nope", dir.resolve("nope.qcow2").toString()), "vm: ", "no VM named 'nope'");
        assertEquals(snapshotsBefore, snapshotNames(disk));
        assertEquals(imageBefore, VmNode.sha256(image));
        assertFalse(Files.exists(dir.resolve("x.img")) || Files.exists(dir.resolve("nope.qcow2")));
        qemuIo(disk, "read -P 0xaa 1M 64k");

        ok(cli("vm", "snapshot", "--delete", web, "patterned"));
        qemuIo(disk, "read -P 0xaa 1M 64k"); // deleting a snapshot leaves the disk as it is
        JsonNode inspected = vm(web);
        assertEquals(1, inspected.path("snapshots").size(), inspected::toString);
        JsonNode booting = inspected.path("snapshots").get(0);
        assertEquals("booting", booting.path("name").asText());
        assertEquals(0, booting.path("vm_state_bytes").asLong(), "a snapshot saved the guest's memory");
        assertFalse(booting.path("created").asText().isEmpty(), inspected::toString);
        VmNode.Cli listed = cli("vm", "snapshot", "--list", web);
        assertTrue(listed.out().lines().anyMatch(l -> l.startsWith("booting ")), listed::toString);

        // an image made from the running VM is a base a new VM starts from
        ok(cli("vm", "create", clone, "--image", fromRunning.toString()));
        assertEquals("running", vm(clone).path("state").asText());
        ok(cli("vm", "rm", "-f", clone, web));
        assertFalse(Files.exists(disk), "the disk and its snapshots were left");
        assertEquals(baseBefore, VmNode.sha256(base), "the base image was written");
    }

    @Test
    void aRunningVmsMemoryIsSnapshottedWithItsDiskAndItsGuestPutBackLive() throws Exception {
        VmNode.CloudImage image = VmNode.cloudImage();
        String password = "vessel-snapshot-pw";
        Path userData = Files.writeString(dir.resolve("user-data"), String.join("\n",
                "#cloud-config",
                "chpasswd:",
                "  expire: false",
                "  users:",
                "    - {name: " + image.defaultUser() + ", password: " + password + ", type: text}",
                "runcmd:",
                "  - [sh, -c, 'echo VESSEL-READY > /dev/ttyS0']",
                ""));
        ok(cli("vm", "create", web, "--image", image.disk().toString(), "--user-data", userData.toString()));
        // refused before anything is saved: a VM with data disks, whose content a restore would contradict
        Path data = dir.resolve("data.qcow2");
        VmNode.run("qemu-img", "create", "-q", "-f", "qcow2", data.toString(), "16M");
        ok(cli("vm", "create", clone, "--image", image.disk().toString(), "--disk", data + ",format=qcow2"));
        refused(cli("vm", "snapshot", "--memory", clone, "with-data"), "memory: ", "data disks");
        ok(cli("vm", "rm", "-f", clone));
        refused(cli("vm", "snapshot", "--delete", "--memory", web, "x"), "", "--memory is for taking a snapshot");

        machines.awaitConsole(web, "VESSEL-READY");
        long qemu = vm(web).path("boot").path("pid").asLong();
        Process console = machines.cliProcess("vm", "console", web);
        Collected screen = new Collected(console.getInputStream());
        screen.typeUntil(console, "\r", "login:");
        screen.typeUntil(console, image.defaultUser() + "\r", "Password:");
        screen.typeUntil(console, password + "\r", "$ ");
        // the guest's memory: a shell variable of the logged-in shell
        screen.typeUntil(console, "v=saved-$((6*7)); echo set-$v\r", "set-saved-42");
        ok(cli("vm", "snapshot", "--memory", web, "warm"));
        ok(cli("vm", "snapshot", web, "disk-only"));
        screen.typeUntil(console, "v=changed; echo now-$v\r", "now-changed");

        ok(cli("vm", "restore", web, "warm"));
        screen.typeUntil(console, "echo then-$v\r", "then-saved-42");
        JsonNode restored = vm(web);
        assertEquals("running", restored.path("state").asText(), restored::toString);
        assertEquals(qemu, restored.path("boot").path("pid").asLong(), "the restore booted a new QEMU");
        JsonNode warm = snapshot(restored, "warm");
        assertTrue(warm.path("vm_state_bytes").asLong() > (16L << 20), () -> "no memory saved: " + warm);
        assertEquals(0, snapshot(restored, "disk-only").path("vm_state_bytes").asLong());
        // a snapshot of the disk alone is not restored under a running guest
        refused(cli("vm", "restore", web, "disk-only"), "vm: ", "stop it first");
        screen.typeUntil(console, "echo still-$v\r", "still-saved-42");
        console.getOutputStream().write(0x1d);
        console.getOutputStream().flush();
        assertTrue(console.waitFor(30, TimeUnit.SECONDS), "Ctrl-] did not detach");

        // stopped, the VM has no memory to save; restoring a snapshot with memory starts it from there
        ok(cli("vm", "stop", "-f", web));
        refused(cli("vm", "snapshot", "--memory", web, "cold"), "memory: ", "stopped");
        // a daemon killed while it resumes the VM from the snapshot (loaded, still paused): the next daemon has the
        // VM stopped, its paused QEMU gone, and the restore can be done again
        Path marker = dir.resolve("fault-marker");
        String boot = "vm-" + web;
        machines.restartWith(Map.of("VESSEL_FAULT_POINT", "during-vm-boot:" + boot,
                "VESSEL_FAULT_MARKER", marker.toString()));
        Process interrupted = machines.cliProcess("vm", "restore", web, "warm");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!Files.exists(marker)) {
            assertTrue(interrupted.isAlive() && System.nanoTime() < deadline,
                    "the daemon never reached the paused resume of " + boot);
            Thread.sleep(50);
        }
        assertTrue(VmNode.domains().contains(DomainNames.forContainer(boot)), "the paused domain was started");
        machines.killAndRestart();
        assertTrue(interrupted.waitFor(30, TimeUnit.SECONDS));
        assertEquals("stopped", vm(web).path("state").asText());
        VmNode.awaitNoDomain(DomainNames.forContainer(boot));
        ok(cli("vm", "restore", web, "warm"));
        JsonNode resumed = vm(web);
        assertEquals("running", resumed.path("state").asText(), resumed::toString);
        assertNotEquals(qemu, resumed.path("boot").path("pid").asLong());
        Process again = machines.cliProcess("vm", "console", web);
        Collected screenAgain = new Collected(again.getInputStream());
        screenAgain.typeUntil(again, "echo again-$v\r", "again-saved-42");
        again.getOutputStream().write(0x1d);
        again.getOutputStream().flush();
        assertTrue(again.waitFor(30, TimeUnit.SECONDS), "Ctrl-] did not detach");
        assertEquals(List.of("warm", "disk-only"), snapshotNames(Path.of(restored.path("disk").asText())));
        ok(cli("vm", "snapshot", "--delete", web, "warm"));
        ok(cli("vm", "rm", "-f", web));
    }

    private static JsonNode snapshot(JsonNode vm, String name) {
        for (JsonNode s : vm.path("snapshots")) {
            if (s.path("name").asText().equals(name)) {
                return s;
            }
        }
        throw new AssertionError("no snapshot " + name + " in " + vm);
    }

    private VmNode.Cli cli(String... args) throws Exception {
        return machines.cli(args);
    }

    private static void ok(VmNode.Cli cli) {
        assertEquals(0, cli.code(), cli::toString);
    }

    /** A refusal: a failed command whose message names {@code field} and says {@code problem}. */
    private static void refused(VmNode.Cli cli, String field, String problem) {
        assertNotEquals(0, cli.code(), cli::toString);
        assertTrue(cli.err().contains(field) && cli.err().contains(problem), cli::toString);
    }

    private JsonNode vm(String name) throws Exception {
        return machines.vm(name);
    }

    /** The disk's snapshots as qemu-img itself lists them. */
    private static List<String> snapshotNames(Path disk) throws Exception {
        List<String> names = new ArrayList<>();
        JSON.readTree(VmNode.run("qemu-img", "info", "-U", "--output=json", "-f", "qcow2", disk.toString()))
                .path("snapshots").forEach(s -> names.add(s.path("name").asText()));
        return names;
    }

    private static void qemuIo(Path disk, String command) throws Exception {
        assertTrue(qemuIoMatches(disk, command), "qemu-io " + command + " failed on " + disk);
    }

    /** Whether qemu-io's command succeeds on the disk: a read's pattern that does not match fails it. */
    private static boolean qemuIoMatches(Path disk, String command) throws Exception {
        Process p = new ProcessBuilder("qemu-io", "-f", "qcow2", "-c", command, disk.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "qemu-io did not finish");
        return p.exitValue() == 0 && !out.contains("Pattern verification failed");
    }
}
