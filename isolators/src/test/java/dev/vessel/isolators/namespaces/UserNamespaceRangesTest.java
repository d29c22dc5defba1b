package dev.vessel.isolators.namespaces;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The allocation of host id blocks from subordinate ranges, on temp files (no container needed). */
class UserNamespaceRangesTest {
    @TempDir
    Path dir;

    UserNamespaceRanges ranges(String subuid, String subgid, long size) throws Exception {
        return new UserNamespaceRanges(new UserNamespaceRanges.Source("vessel",
                Files.writeString(dir.resolve("subuid"), subuid), Files.writeString(dir.resolve("subgid"), subgid), size));
    }

    @Test
    void subordinateFilesGiveTheUsersRangesOnlySkippingWhatDoesNotParse() throws Exception {
        Path file = Files.writeString(dir.resolve("subuid"), """
                root:100000:65536
                vessel:200000:65536
                # a comment
                vessel:abc:10
                vessel:300000:0
                vessel:4294967290:100
                vessel:1000000:10
                vessels:5000000:65536
                """);
        assertEquals(List.of(new SubordinateIds.Range(200000, 65536), new SubordinateIds.Range(1000000, 10)),
                SubordinateIds.of(file, "vessel"));
        assertEquals(List.of(), SubordinateIds.of(dir.resolve("absent"), "vessel"));
    }

    @Test
    void blocksDoNotOverlapSpanRangesAndAFreedBlockIsReused() throws Exception {
        // two ranges: the first holds one block of 1000, the second two
        UserNamespaceRanges r = ranges("vessel:10000:1500\nvessel:50000:2000\n", "vessel:70000:3000\n", 1000);
        UserNamespaceRanges.Allocation a = r.allocate();
        UserNamespaceRanges.Allocation b = r.allocate();
        UserNamespaceRanges.Allocation c = r.allocate();
        assertEquals(new UserNamespaceRanges.Allocation(10000, 70000, 1000), a);
        assertEquals(new UserNamespaceRanges.Allocation(50000, 71000, 1000), b);
        assertEquals(new UserNamespaceRanges.Allocation(51000, 72000, 1000), c);

        VesselException full = assertThrows(VesselException.class, r::allocate);
        assertEquals("userns", full.field().orElseThrow());
        assertEquals(ErrorCode.FAILED_PRECONDITION, full.code());
        assertFalse(r.inUse(new UserNamespaceRanges.Allocation(52000, 73000, 1000)), "a refusal holds nothing");

        r.release(b);
        assertEquals(b, r.allocate());
    }

    @Test
    void reservedBlocksFromCheckpointsAreSkippedEvenWhenNotAligned() throws Exception {
        UserNamespaceRanges r = ranges("vessel:100000:4000\n", "vessel:100000:4000\n", 1000);
        // a block a previous daemon gave out, in the middle of the range
        r.reserve(new UserNamespaceRanges.Allocation(100500, 100500, 1000));
        assertEquals(new UserNamespaceRanges.Allocation(101500, 101500, 1000), r.allocate());
        assertEquals(new UserNamespaceRanges.Allocation(102500, 102500, 1000), r.allocate());
        assertThrows(VesselException.class, r::allocate); // 100000..100499 is too small for a block
    }

    @Test
    void noRangeForTheUserIsRefusedSayingWhatToAdd() throws Exception {
        UserNamespaceRanges r = ranges("root:100000:65536\n", "vessel:100000:65536\n", 65536);
        VesselException e = assertThrows(VesselException.class, r::allocate);
        assertEquals("userns", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("'vessel'") && e.getMessage().contains(dir.resolve("subuid").toString())
                && e.getMessage().contains("vessel:100000:") && e.getMessage().contains("usermod --add-subuids"),
                e.getMessage());
    }

    @Test
    void aBadSourceIsRefusedNamingItsKey() {
        assertEquals("userns_user", assertThrows(VesselException.class, () -> new UserNamespaceRanges.Source(
                "a:b", dir, dir, 10)).field().orElseThrow());
        assertEquals("userns_size", assertThrows(VesselException.class, () -> new UserNamespaceRanges.Source(
                "vessel", dir, dir, 0)).field().orElseThrow());
    }
}
