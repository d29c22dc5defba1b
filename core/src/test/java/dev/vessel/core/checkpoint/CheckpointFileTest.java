package dev.vessel.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.Resources;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointFileTest {
    @TempDir
    Path dir;

    /** Version 1 stored memory in MiB as text; version 2 stores a Resources message in bytes. */
    static final CheckpointCodec<Resources> V1 = new CheckpointCodec<>() {
        @Override
        public int version() {
            return 1;
        }

        @Override
        public byte[] encode(Resources r) {
            return Long.toString(r.getMemoryBytes() >> 20).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public Resources decode(int version, byte[] payload) {
            return Resources.newBuilder()
                    .setMemoryBytes(Long.parseLong(new String(payload, StandardCharsets.UTF_8)) << 20).build();
        }
    };

    static final ProtoCodec<Resources> V2 = ProtoCodec.of(2, Resources.parser())
            .withUpgrade(1, payload -> V1.decode(1, payload));

    @Test
    void roundTripsAProtobufMessage() {
        Path file = dir.resolve("a.ckpt");
        ContainerStatus status = ContainerStatus.newBuilder().setId("web").setPid(42).build();
        ProtoCodec<ContainerStatus> codec = ProtoCodec.of(1, ContainerStatus.parser());
        CheckpointFile.write(file, codec, status);
        assertEquals(Optional.of(status), CheckpointFile.read(file, codec));
    }

    @Test
    void aMissingCheckpointReadsAsEmpty() {
        assertEquals(Optional.empty(), CheckpointFile.read(dir.resolve("none.ckpt"), V2));
    }

    @Test
    void anOlderVersionIsReadThroughTheUpgradePath() {
        Path file = dir.resolve("r.ckpt");
        CheckpointFile.write(file, V1, Resources.newBuilder().setMemoryBytes(64L << 20).build());
        Resources upgraded = CheckpointFile.read(file, V2).orElseThrow();
        assertEquals(64L << 20, upgraded.getMemoryBytes());
    }

    @Test
    void aNewerVersionIsRefusedWithAClearError() {
        Path file = dir.resolve("r.ckpt");
        CheckpointFile.write(file, V2, Resources.newBuilder().setMemoryBytes(1).build());
        VesselException e = assertThrows(VesselException.class, () -> CheckpointFile.read(file, V1));
        assertEquals(ErrorCode.DATA_LOSS, e.code());
        assertTrue(e.getMessage().contains("schema version 2, newer than version 1"), e.getMessage());
        assertEquals(Optional.of(file.toString()), e.field());
    }

    @Test
    void aFlippedByteIsDetected() throws Exception {
        Path file = dir.resolve("r.ckpt");
        CheckpointFile.write(file, V2, Resources.newBuilder().setMemoryBytes(123456789).build());
        byte[] bytes = Files.readAllBytes(file);
        bytes[14] ^= 0x40;
        Files.write(file, bytes);
        VesselException e = assertThrows(VesselException.class, () -> CheckpointFile.read(file, V2));
        assertEquals(ErrorCode.DATA_LOSS, e.code());
        assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
    }

    @Test
    void aTruncatedFileIsDetected() throws Exception {
        Path file = dir.resolve("r.ckpt");
        CheckpointFile.write(file, V2, Resources.newBuilder().setMemoryBytes(123456789).build());
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 3));
        VesselException e = assertThrows(VesselException.class, () -> CheckpointFile.read(file, V2));
        assertTrue(e.getMessage().contains("damaged"), e.getMessage());
    }

    @Test
    void aRewriteReplacesTheWholeRecordAndLeavesNoTemporaryFile() throws Exception {
        Path file = dir.resolve("r.ckpt");
        CheckpointFile.write(file, V2, Resources.newBuilder().setMemoryBytes(1).build());
        CheckpointFile.write(file, V2, Resources.newBuilder().setCpus(2).build());
        Resources read = CheckpointFile.read(file, V2).orElseThrow();
        assertEquals(0, read.getMemoryBytes());
        assertEquals(2.0, read.getCpus());
        try (var entries = Files.list(dir)) {
            assertEquals(1, entries.count());
        }
    }

    @Test
    void staleTemporariesAreSweptButCheckpointsKept() throws Exception {
        Path file = dir.resolve("r.ckpt");
        CheckpointFile.write(file, V2, Resources.newBuilder().setMemoryBytes(1).build());
        Path stale = dir.resolve(AtomicFiles.TEMP_PREFIX + "r.ckpt-dead");
        Files.write(stale, new byte[] {1, 2});
        assertEquals(1, AtomicFiles.removeStaleTemporaries(dir));
        assertFalse(Files.exists(stale));
        assertTrue(Files.exists(file));
    }

    @Test
    void atomicWriteCreatesMissingDirectories() throws Exception {
        Path nested = dir.resolve("a/b/c.bin");
        AtomicFiles.write(nested, new byte[] {7});
        assertArrayEquals(new byte[] {7}, Files.readAllBytes(nested));
    }
}
