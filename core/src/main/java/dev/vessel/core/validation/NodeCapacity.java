package dev.vessel.core.validation;

import dev.vessel.core.cpu.CpuList;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * What this node has: a container asking for more can never run here. {@code onlineCpus} and {@code memoryNodes}
 * are the CPUs and NUMA memory nodes a cpuset may name; {@code hugepageSizes} the huge page sizes a hugetlb limit may
 * name, as the kernel's hugetlb controller names them ("2MB", "1GB").
 */
public record NodeCapacity(int cpus, long memoryBytes, CpuList onlineCpus, CpuList memoryNodes,
        Set<String> hugepageSizes) {
    /** An x86 node whose CPUs are numbered 0 to {@code cpus - 1}, with one memory node (0). */
    public NodeCapacity(int cpus, long memoryBytes) {
        this(cpus, memoryBytes, CpuList.firstN(cpus), CpuList.firstN(1), Set.of("2MB", "1GB"));
    }

    public NodeCapacity {
        hugepageSizes = Set.copyOf(hugepageSizes);
    }

    /**
     * Reads the CPU count, {@code MemTotal} of {@code /proc/meminfo}, the online CPUs, the online memory nodes (one,
     * node 0, on a kernel built without NUMA) and the huge page sizes.
     */
    public static NodeCapacity detect() {
        int cpus = Runtime.getRuntime().availableProcessors();
        CpuList online = CpuList.read(Path.of("/sys/devices/system/cpu/online")).orElse(CpuList.firstN(cpus));
        CpuList nodes = CpuList.read(Path.of("/sys/devices/system/node/online")).orElse(CpuList.firstN(1));
        Set<String> hugepages = hugepageSizes(Path.of("/sys/kernel/mm/hugepages"));
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return new NodeCapacity(cpus, kib * 1024, online, nodes, hugepages);
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new IllegalStateException("cannot read the node's memory from /proc/meminfo", e);
        }
        throw new IllegalStateException("/proc/meminfo has no MemTotal line");
    }

    /** {@code hugepages-2048kB} becomes "2MB", as the hugetlb controller's files name it; none without the sysfs. */
    static Set<String> hugepageSizes(Path sysfs) {
        Set<String> sizes = new TreeSet<>();
        if (!Files.isDirectory(sysfs)) {
            return sizes;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(sysfs, "hugepages-*kB")) {
            for (Path dir : dirs) {
                String name = dir.getFileName().toString();
                long kib = Long.parseLong(name.substring("hugepages-".length(), name.length() - 2));
                sizes.add(kib % (1 << 20) == 0 ? (kib >> 20) + "GB"
                        : kib % 1024 == 0 ? (kib >> 10) + "MB" : kib + "KB");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + sysfs, e);
        }
        return sizes;
    }
}
