package dev.vessel.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CpuListTest {
    @Test
    void aListIsReadAndWrittenInTheKernelsOwnForm() {
        assertEquals("0-3,6", CpuList.parse("6,0-2,3").toString());
        assertEquals("5", CpuList.parse(" 5\n").toString());
        assertEquals("0-1,4-5", CpuList.parse("4-5,0,1,1").toString());
        assertEquals("2-3", CpuList.parse("0-3").without(CpuList.firstN(2)).toString());
        assertTrue(CpuList.parse("1").without(CpuList.firstN(2)).isEmpty());
    }

    @Test
    void whatIsNoListIsRefusedSayingWhy() {
        assertEquals("is empty", assertThrows(IllegalArgumentException.class, () -> CpuList.parse(" ")).getMessage());
        assertEquals("has '-1', not a number or a range such as 0-3",
                assertThrows(IllegalArgumentException.class, () -> CpuList.parse("-1")).getMessage());
        assertEquals("has '1-2-3', not a number or a range such as 0-3",
                assertThrows(IllegalArgumentException.class, () -> CpuList.parse("1-2-3")).getMessage());
        assertEquals("has '9999999999', not a number or a range such as 0-3",
                assertThrows(IllegalArgumentException.class, () -> CpuList.parse("9999999999")).getMessage());
        assertEquals("has '8192', above 8191",
                assertThrows(IllegalArgumentException.class, () -> CpuList.parse("8192")).getMessage());
    }

    @Test
    void theKernelsFilesAreRead(@TempDir Path dir) throws Exception {
        assertEquals("0-1", CpuList.read(Files.writeString(dir.resolve("online"), "0-1\n")).orElseThrow().toString());
        assertTrue(CpuList.read(dir.resolve("absent")).isEmpty());
        Path bad = Files.writeString(dir.resolve("bad"), "x\n");
        assertTrue(assertThrows(IllegalStateException.class, () -> CpuList.read(bad)).getMessage().contains("bad"));
    }
}
