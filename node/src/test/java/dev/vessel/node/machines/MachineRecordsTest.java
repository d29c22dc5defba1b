package dev.vessel.node.machines;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.MachineRequest;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.store.Digest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The VMs' records on disk: what a crashed create left is swept at start-up, and fetched bases are held. */
class MachineRecordsTest {
    @TempDir
    Path dir;

    @Test
    void aCreateInterruptedBeforeItsRecordIsSweptAndFinishedOnesStay() throws Exception {
        MachineRecords records = new MachineRecords(new RuntimePaths(dir.resolve("state"), dir.resolve("run")));
        assertTrue(records.makeDir("done"));
        records.write(MachineRequest.newBuilder().setName("done").setImage("/base.qcow2").build());
        Path temporary = Files.writeString(records.dir("done").resolve(".tmp-request.pb-123"), "half");
        assertTrue(records.makeDir("torn")); // the crash came before its record was written
        assertFalse(records.makeDir("torn"), "a second VM of a name whose directory exists");

        assertEquals(1, records.removeUnfinished());
        assertFalse(Files.exists(records.dir("torn")), "the torn VM's directory holds its name forever");
        assertFalse(Files.exists(temporary), "a crash's temporary is left");
        assertEquals(List.of("done"), records.names());
        assertTrue(records.makeDir("torn"), "the name is free again");
    }

    @Test
    void theBasesFetchedByUrlAreHeldAndLocalFilesAreNot() throws Exception {
        MachineRecords records = new MachineRecords(new RuntimePaths(dir.resolve("state"), dir.resolve("run")));
        String digest = "sha256:" + "ab".repeat(32);
        records.makeDir("fetched");
        records.write(MachineRequest.newBuilder().setName("fetched").setImage("https://images.example/debian.qcow2")
                .setImageDigest(digest).build());
        records.makeDir("local");
        records.write(MachineRequest.newBuilder().setName("local").setImage("/var/lib/images/debian.qcow2").build());
        assertEquals(Set.of(Digest.parse("test", digest)), records.heldBlobs());
    }
}
