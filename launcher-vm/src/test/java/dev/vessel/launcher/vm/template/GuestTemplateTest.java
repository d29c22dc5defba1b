package dev.vessel.launcher.vm.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.launcher.vm.domain.Accelerator;
import dev.vessel.launcher.vm.domain.VmSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestTemplateTest {
    @TempDir
    Path dir;

    @Test
    void aTemplateWhoseFilesWereWrittenOrReplacedSinceItWasSavedIsNotIntact() throws Exception {
        GuestTemplate template = saved("t1");
        assertTrue(template.isIntact());

        Files.writeString(GuestTemplate.memory(template.dir()), "x", StandardOpenOption.APPEND);
        assertFalse(template.isIntact(), "a write to the memory file");

        GuestTemplate other = saved("t2");
        Path state = GuestTemplate.state(other.dir());
        Path replacement = Files.writeString(other.dir().resolve("new"), "state");
        Files.move(replacement, state, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertFalse(other.isIntact(), "a state file put in its place");

        GuestTemplate gone = saved("t3");
        Files.delete(GuestTemplate.memory(gone.dir()));
        assertFalse(gone.isIntact(), "a missing memory file");
    }

    @Test
    void theInputsChangeWithTheGuestsFilesAndSettingsButNotOtherwise() throws Exception {
        VmSpec spec = spec();
        Path qemu = Files.writeString(dir.resolve("qemu"), "qemu");
        Path wrapper = Files.writeString(dir.resolve("wrapper"), "wrapper");
        String inputs = GuestTemplate.inputsOf(spec, qemu, wrapper);
        assertEquals(inputs, GuestTemplate.inputsOf(spec, qemu, wrapper));

        assertNotEquals(inputs, GuestTemplate.inputsOf(spec.toBuilder().memoryBytes(spec.memoryBytes() * 2).build(),
                qemu, wrapper));
        assertNotEquals(inputs, GuestTemplate.inputsOf(spec.toBuilder().kernelCmdline("quiet").build(), qemu, wrapper));
        // an initramfs rebuilt in place (a new guest image) changes its change time
        Thread.sleep(20);
        Files.writeString(spec.initrd(), "initrd");
        assertNotEquals(inputs, GuestTemplate.inputsOf(spec, qemu, wrapper));
        String rebuilt = GuestTemplate.inputsOf(spec, qemu, wrapper);
        Path image = spec.software().orElseThrow().image();
        Path copy = Files.copy(image, dir.resolve("copy"));
        Files.move(copy, image, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertNotEquals(rebuilt, GuestTemplate.inputsOf(spec, qemu, wrapper), "a software image copied again");
    }

    private GuestTemplate saved(String name) throws Exception {
        Path templateDir = Files.createDirectories(dir.resolve(name));
        Files.writeString(GuestTemplate.memory(templateDir), "ram");
        Files.writeString(GuestTemplate.state(templateDir), "state");
        return GuestTemplate.saved(name, templateDir, "inputs", 1 << 20, 1);
    }

    private VmSpec spec() throws Exception {
        Path image = Files.write(dir.resolve("software.erofs"), new byte[0]);
        return VmSpec.builder().containerId("").stateDir(dir.resolve("state")).domainName("vessel-warm-x")
                .uuid(UUID.randomUUID()).accelerator(Accelerator.TCG).qemuUser(new QemuUser("libvirt-qemu", 64055, 108))
                .memoryBytes(512 * VmLauncherConfig.MIB).vcpus(1).kernel(Files.writeString(dir.resolve("vmlinux"), "k"))
                .initrd(Files.writeString(dir.resolve("initramfs"), "i")).kernelCmdline("console=ttyS0")
                .software(Optional.of(new VmSpec.Software(image, 2 * VmLauncherConfig.MIB))).rootfs(dir)
                .rootfsMapped(true).agentSocket(dir.resolve("agent.sock")).consoleLog(dir.resolve("console.log"))
                .cgroupPartition("/vessel-test-vms").build();
    }
}
