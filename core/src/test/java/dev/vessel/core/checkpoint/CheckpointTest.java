package dev.vessel.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.Resources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path dir;

    static final ProtoCodec<Resources> CODEC = ProtoCodec.of(1, Resources.parser());
    static final Resources STATE = Resources.newBuilder().setMemoryBytes(64L << 20).setCpus(0.5).build();

    @Test
    void aSlotInMemoryGivesBackWhatWasSavedUntilDeleted() {
        Checkpoint slot = Checkpoint.inMemory();
        assertEquals(Optional.empty(), slot.load(CODEC), "nothing saved yet");

        slot.save(CODEC, STATE);
        assertSame(STATE, slot.load(CODEC).orElseThrow(), "read by its own codec: the state as saved, not a copy");
        Resources other = slot.load(ProtoCodec.of(1, Resources.parser())).orElseThrow();
        assertNotSame(STATE, other, "read by another codec: through the bytes, as a file's would be");
        assertEquals(STATE, other);

        slot.delete();
        assertEquals(Optional.empty(), slot.load(CODEC));
        slot.delete(); // deleting nothing is fine, as for a file
    }

    @Test
    void aSlotOnDiskIsItsFile() throws Exception {
        Path file = dir.resolve("launcher.ckpt");
        Checkpoint slot = Checkpoint.at(file);
        assertEquals(Optional.empty(), slot.load(CODEC));

        slot.save(CODEC, STATE);
        assertTrue(Files.exists(file));
        assertEquals(STATE, CheckpointFile.read(file, CODEC).orElseThrow());
        assertEquals(STATE, Checkpoint.at(file).load(CODEC).orElseThrow(), "a new slot on the file reads it");

        slot.delete();
        assertFalse(Files.exists(file));
    }
}
