package dev.vessel.launcher.vm.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AcceleratorTest {
    private static final String INTEL = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr vmx sse2\n\n";
    private static final String AMD = "processor\t: 0\nflags\t\t: fpu vme svm sse2\n\n";
    private static final String NONE = "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr sse2 hypervisor\n"
            + "vmx flags\t: not_a_flag_line_for_us\n\n";

    @TempDir
    Path dir;

    @Test
    void autoPicksKvmWhenTheDeviceOpensAndTheCpuVirtualises() throws Exception {
        Path kvm = Files.createFile(dir.resolve("kvm"));
        assertEquals(Accelerator.KVM, Accelerator.AUTO.resolve(kvm, cpuinfo(INTEL)));
        assertEquals(Accelerator.KVM, Accelerator.AUTO.resolve(kvm, cpuinfo(AMD)));
    }

    @Test
    void autoFallsBackToTcgWithoutTheCpuFlags() throws Exception {
        // This host's own case: /dev/kvm present, no vmx/svm in the flags line.
        Path kvm = Files.createFile(dir.resolve("kvm"));
        assertEquals(Accelerator.TCG, Accelerator.AUTO.resolve(kvm, cpuinfo(NONE)));
    }

    @Test
    void autoFallsBackToTcgWhenTheDeviceDoesNotOpen() throws Exception {
        assertEquals(Accelerator.TCG, Accelerator.AUTO.resolve(dir.resolve("missing"), cpuinfo(INTEL)));
        // A directory cannot be opened for writing, not even by root.
        Path notADevice = Files.createDirectory(dir.resolve("kvm-dir"));
        assertEquals(Accelerator.TCG, Accelerator.AUTO.resolve(notADevice, cpuinfo(INTEL)));
    }

    @Test
    void autoFallsBackToTcgWithoutCpuinfo() throws Exception {
        Path kvm = Files.createFile(dir.resolve("kvm"));
        assertEquals(Accelerator.TCG, Accelerator.AUTO.resolve(kvm, dir.resolve("no-cpuinfo")));
    }

    @Test
    void aForcedAcceleratorIsKeptWhateverTheHostSays() throws Exception {
        Path kvm = Files.createFile(dir.resolve("kvm"));
        assertEquals(Accelerator.TCG, Accelerator.TCG.resolve(kvm, cpuinfo(INTEL)));
        assertEquals(Accelerator.KVM, Accelerator.KVM.resolve(dir.resolve("missing"), cpuinfo(NONE)));
    }

    @Test
    void domainTypes() {
        assertEquals("kvm", Accelerator.KVM.domainType());
        assertEquals("qemu", Accelerator.TCG.domainType());
        assertThrows(IllegalStateException.class, Accelerator.AUTO::domainType);
    }

    private Path cpuinfo(String text) throws Exception {
        return Files.writeString(dir.resolve("cpuinfo-" + text.hashCode()), text);
    }
}
