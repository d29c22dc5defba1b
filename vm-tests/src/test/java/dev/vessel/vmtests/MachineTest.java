package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.CloudInit;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.VmMachine;
import dev.vessel.core.model.VmOptions;
import dev.vessel.launcher.vm.domain.DomainNames;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real Debian 12 cloud image (built from Debian's packages by the images module, cached) booted as
 * a full VM through the containerizer and the VM launcher, under TCG: firmware, the image's own boot
 * loader and kernel, cloud-init from the NoCloud seed. Its console shows cloud-init applied the host
 * name, the SSH key and the user-data; an ACPI shutdown ends it with exit 0; a second boot of the same
 * disk finds what the first wrote; the base image stays byte for byte.
 */
class MachineTest {
    private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHZlc3NlbC10ZXN0LWtleS1ub3QtZm9yLXVzZQ vessel-test";
    private static VmNode node;
    private static Path base;
    private static String defaultUser;

    @BeforeAll
    static void startNode() throws Exception {
        VmNode.CloudImage image = VmNode.cloudImage();
        base = image.disk();
        defaultUser = image.defaultUser();
        node = VmNode.inNewDir("vessel-machine-");
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.destroyAllCloseAndDeleteDir();
        }
    }

    @Test
    void aCloudImageBootsConfiguredByCloudInitAndItsDiskOutlivesTheVm() throws Exception {
        String before = VmNode.sha256(base);
        Path disk = node.dir.resolve("web-1.qcow2");
        String userData = String.join("\n",
                "#cloud-config",
                "bootcmd:", // every boot, before runcmd
                "  - [sh, -c, 'echo \"VESSEL-BOOT $(cat /var/lib/vessel-first-boot 2>/dev/null || echo none)\" > /dev/ttyS0']",
                "runcmd:", // once per instance
                "  - [sh, -c, 'echo first-boot > /var/lib/vessel-first-boot && sync']",
                "  - [sh, -c, 'echo \"VESSEL-RUNCMD $(hostname) $(cat /home/" + defaultUser + "/.ssh/authorized_keys)\" > /dev/ttyS0']",
                "");
        node.containerizer.launch(machine("web-1", disk, userData));
        String console = awaitConsole("web-1", "VESSEL-RUNCMD");
        assertTrue(console.contains("VESSEL-BOOT none"), console);
        assertTrue(console.contains("VESSEL-RUNCMD vessel-web-1 " + KEY), () -> "hostname or key not applied:\n" + console);
        long qemu = node.containerizer.status("web-1").getPid();
        assertTrue(Files.readAllLines(Path.of("/proc", Long.toString(qemu), "status"))
                .contains("Uid:\t" + node.launcher.qemuUser().uid() + "\t" + node.launcher.qemuUser().uid() + "\t"
                        + node.launcher.qemuUser().uid() + "\t" + node.launcher.qemuUser().uid()), "QEMU is not unprivileged");

        // an orderly stop: the ACPI power button, the guest's own shutdown, exit 0
        node.containerizer.kill("web-1", 15);
        Termination end = node.containerizer.wait("web-1").get(3, TimeUnit.MINUTES);
        assertEquals(TerminationReason.EXITED, end.getReason(), end::toString);
        assertEquals(0, end.getExitCode());
        node.containerizer.destroy("web-1");
        assertTrue(Files.isRegularFile(disk), "the VM's disk went with the VM");

        // the same disk boots again and keeps what the first boot wrote
        node.containerizer.launch(machine("web-1-again", disk, userData));
        String again = awaitConsole("web-1-again", "VESSEL-BOOT ");
        assertTrue(again.contains("VESSEL-BOOT first-boot"), () -> "the first boot's file is gone:\n" + again);
        node.containerizer.destroy("web-1-again");
        VmNode.awaitNoDomain(DomainNames.forContainer("web-1-again"));

        assertEquals(before, VmNode.sha256(base), "the base image was written");
    }

    @Test
    void badImagesAreRefusedBeforeAnythingIsMade() throws Exception {
        Path notAnImage = Files.writeString(node.dir.resolve("notes.qcow2"), "not an image");
        Path disk = node.dir.resolve("never.qcow2");
        ContainerConfig bad = machine("bad-image", disk, "").toBuilder()
                .setVm(VmOptions.newBuilder().setMachine(VmMachine.newBuilder().setBaseImage(notAnImage.toString())
                        .setBaseFormat("qcow2").setDisk(disk.toString())))
                .build();
        VesselException e = assertThrows(VesselException.class, () -> node.containerizer.launch(bad));
        assertEquals("vm.machine.base_image", e.field().orElseThrow(), e.getMessage());
        assertFalse(Files.exists(disk), "a disk was made for a refused image");

        ContainerConfig asRaw = machine("as-raw", disk, "").toBuilder()
                .setVm(VmOptions.newBuilder().setMachine(VmMachine.newBuilder().setBaseImage(base.toString())
                        .setBaseFormat("raw").setDisk(disk.toString())))
                .build();
        e = assertThrows(VesselException.class, () -> node.containerizer.launch(asRaw));
        assertTrue(e.getMessage().contains("is a qcow2 image, not raw"), e.getMessage());
        assertFalse(Files.exists(disk), "a disk was made for a refused image");
    }

    private static ContainerConfig machine(String id, Path disk, String userData) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).setHostname("vessel-web-1")
                .setVm(VmOptions.newBuilder().setVcpus(1).setMemoryBytes(1024L << 20)
                        .setMachine(VmMachine.newBuilder().setBaseImage(base.toString()).setBaseFormat("qcow2")
                                .setDisk(disk.toString()).setDiskSizeBytes(4L << 30)
                                .setCloudInit(CloudInit.newBuilder().setUserData(userData).addSshAuthorizedKeys(KEY))))
                .build();
    }

    /** The VM's serial console once it holds {@code text}; TCG boots a cloud image in about a minute. */
    private static String awaitConsole(String id, String text) throws Exception {
        Path log = node.paths.consoleLog(node.paths.containerDir(List.of(id)));
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(6);
        String console = "";
        while (System.nanoTime() < deadline) {
            console = Files.exists(log) ? Files.readString(log, StandardCharsets.ISO_8859_1) : "";
            if (console.contains(text)) {
                return console;
            }
            if (node.containerizer.status(id).getState() == dev.vessel.core.model.ContainerState.TERMINATED) {
                break;
            }
            Thread.sleep(500);
        }
        throw new AssertionError(id + ": the console never showed '" + text + "':\n" + console);
    }
}
