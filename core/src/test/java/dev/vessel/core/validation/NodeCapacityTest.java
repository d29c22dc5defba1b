package dev.vessel.core.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeCapacityTest {
    @Test
    void hugePageSizesAreNamedAsTheHugetlbControllerNamesThem(@TempDir Path sysfs) throws Exception {
        for (String dir : new String[] {"hugepages-2048kB", "hugepages-1048576kB", "hugepages-64kB"}) {
            Files.createDirectories(sysfs.resolve(dir));
        }
        Files.createDirectories(sysfs.resolve("not-a-size"));
        assertEquals(Set.of("2MB", "1GB", "64KB"), NodeCapacity.hugepageSizes(sysfs));
        assertEquals(Set.of(), NodeCapacity.hugepageSizes(sysfs.resolve("absent")));
    }
}
