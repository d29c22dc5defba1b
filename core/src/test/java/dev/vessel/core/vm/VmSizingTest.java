package dev.vessel.core.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.VmOptions;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class VmSizingTest {
    private static final long MIB = VmSizing.MIB;
    /** Artifacts that do not exist weigh nothing: only the agent's JVM is overhead. */
    private final VmSizing sizing = new VmSizing(VmSizing.DEFAULT_MIN_MEMORY_BYTES, Path.of("/nonexistent/vmlinux"),
            Path.of("/nonexistent/initramfs.cpio"));

    @Test
    void theRequestFloorIsBelowTheGuestsMinimum() {
        assertEquals(64 * MIB, VmSizing.MIN_REQUESTED_MEMORY_BYTES);
        assertEquals(384 * MIB, VmSizing.DEFAULT_MIN_MEMORY_BYTES);
    }

    @Test
    void taskMemoryPlusOverheadIsRoundedUpToWholeMib() throws Exception {
        ContainerConfig config = ContainerConfig.newBuilder()
                .setResources(Resources.newBuilder().setMemoryBytes(512 * MIB + 1)).build();
        assertEquals(512 * MIB + VmSizing.AGENT_JVM_BYTES + MIB, sizing.memoryBytes(config));
    }

    @Test
    void withoutAnySizeTheGuestGetsTheDefaultAndExplicitSizesAreKept() throws Exception {
        assertEquals(VmSizing.DEFAULT_MEMORY_BYTES, sizing.memoryBytes(ContainerConfig.getDefaultInstance()));
        assertEquals(100 * MIB, sizing.memoryBytes(ContainerConfig.newBuilder()
                .setVm(VmOptions.newBuilder().setMemoryBytes(100 * MIB)).build()));
        assertEquals(1, VmSizing.vcpus(ContainerConfig.getDefaultInstance()));
    }
}
