package dev.vessel.core.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.VmOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    /** The files of a compressed initramfs take more than the archive: an uncompressed one counts twice. */
    @Test
    void aCompressedInitramfsWeighsItsUnpackedFilesToo(@TempDir Path dir) throws Exception {
        byte[] lz4 = new byte[(int) MIB];
        lz4[0] = 0x02; // the LZ4 legacy frame's magic, as build-initramfs writes it
        lz4[1] = 0x21;
        lz4[2] = 0x4c;
        lz4[3] = 0x18;
        Path compressed = Files.write(dir.resolve("initramfs.cpio.lz4"), lz4);
        byte[] cpio = new byte[(int) MIB];
        System.arraycopy("070701".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, cpio, 0, 6);
        Path plain = Files.write(dir.resolve("initramfs.cpio"), cpio);
        ContainerConfig none = ContainerConfig.getDefaultInstance();
        assertEquals(MIB + VmSizing.UNPACKED_PER_COMPRESSED_BYTE * MIB + VmSizing.AGENT_JVM_BYTES,
                new VmSizing(VmSizing.DEFAULT_MIN_MEMORY_BYTES, dir.resolve("none"), compressed).guestOverheadBytes(none));
        assertEquals(2 * MIB + VmSizing.AGENT_JVM_BYTES,
                new VmSizing(VmSizing.DEFAULT_MIN_MEMORY_BYTES, dir.resolve("none"), plain).guestOverheadBytes(none));
    }
}
