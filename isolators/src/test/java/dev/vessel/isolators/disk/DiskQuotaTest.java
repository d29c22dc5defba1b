package dev.vessel.isolators.disk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LimitationReason;
import dev.vessel.core.model.PersistentVolume;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.Volume;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.isolators.filesystem.LinuxFilesystemIsolator;
import dev.vessel.isolators.testing.ProcessNode;
import dev.vessel.isolators.volume.DockerVolumeIsolator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** disk/du with real containers writing into a persistent volume. */
class DiskQuotaTest {
    @TempDir
    static Path tmp;

    static RuntimePaths paths;
    static Path rootfs;
    static UnifiedContainerizer containerizer;

    @BeforeAll
    static void startNode() throws Exception {
        ProcessNode node = ProcessNode.start(tmp, "disk quota", p -> List.of(new LinuxFilesystemIsolator(p),
                new DockerVolumeIsolator(p, tmp.resolve("plugins"), Duration.ofSeconds(5)),
                new DiskDuIsolator(p, Duration.ofMillis(100))));
        paths = node.paths();
        rootfs = node.rootfs();
        containerizer = node.containerizer();
    }

    @AfterAll
    static void stopNode() {
        containerizer.list().forEach(s -> containerizer.destroy(s.getId()));
    }

    static ContainerConfig config(String id, String volume, long quota, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS)
                .addCommand("/bin/sh").addArgs("-c").addArgs(script).setHostRootfs(rootfs.toString())
                .setResources(Resources.newBuilder().setDiskBytes(quota))
                .addVolumes(Volume.newBuilder().setTarget("/data")
                        .setPersistent(PersistentVolume.newBuilder().setName(volume)))
                .build();
    }

    @Test
    void writingPastTheQuotaEndsTheContainerWithReasonDisk() throws Exception {
        containerizer.launch(config("filler", "filler-data", 1 << 20,
                "i=0; while true; do head -c 65536 /dev/zero > /data/f$i; i=$((i+1)); sleep 0.01; done"));
        Termination t = containerizer.wait("filler").get(60, TimeUnit.SECONDS);
        assertEquals(TerminationReason.LIMITATION, t.getReason(), t.toString());
        assertEquals(LimitationReason.DISK, t.getLimitation().getReason());
        assertTrue(t.getMessage().contains("exceeds the quota of 1048576 bytes"), t.getMessage());
    }

    @Test
    void usageReportsTheBytesWrittenWithinTheQuota() throws Exception {
        containerizer.launch(config("small", "small-data", 10 << 20,
                "head -c 200000 /dev/zero > /data/f && sleep 1000"));
        Path written = paths.persistentVolume("small-data").resolve("f");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!(Files.exists(written) && Files.size(written) == 200000) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        ResourceStatistics usage = containerizer.usage("small");
        assertEquals(200000, usage.getDiskUsedBytes());
        assertEquals(10 << 20, usage.getDiskLimitBytes());
        assertEquals(TerminationReason.KILLED, containerizer.destroy("small").getReason());
    }
}
