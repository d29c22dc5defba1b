package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A long-lived VM's disk snapshots and images through the real daemon and CLI, on the Debian cloud
 * image, without waiting for a guest to boot: a snapshot taken by QEMU while the guest boots, then
 * data written into the stopped disk with qemu-io, snapshotted, overwritten and restored, each state
 * read back; images flattened from the running and the stopped VM, standalone and equal to the disk;
 * refusals that name their field and change nothing; the base image byte for byte as it was.
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
