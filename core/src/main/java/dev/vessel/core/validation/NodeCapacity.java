package dev.vessel.core.validation;

import dev.vessel.core.cpuset.CpuList;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What this node has: a container asking for more can never run here. {@code onlineCpus} and {@code memoryNodes}
 * are the CPUs and NUMA memory nodes a cpuset may name.
 */
public record NodeCapacity(int cpus, long memoryBytes, CpuList onlineCpus, CpuList memoryNodes) {
    /** A node whose CPUs are numbered 0 to {@code cpus - 1}, with one memory node (0). */
    public NodeCapacity(int cpus, long memoryBytes) {
        this(cpus, memoryBytes, CpuList.firstN(cpus), CpuList.firstN(1));
    }

    /**
     * Reads the CPU count, {@code MemTotal} of {@code /proc/meminfo}, the online CPUs and the online memory nodes
     * (one, node 0, on a kernel built without NUMA).
     */
    public static NodeCapacity detect() {
        int cpus = Runtime.getRuntime().availableProcessors();
        CpuList online = CpuList.read(Path.of("/sys/devices/system/cpu/online")).orElse(CpuList.firstN(cpus));
        CpuList nodes = CpuList.read(Path.of("/sys/devices/system/node/online")).orElse(CpuList.firstN(1));
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return new NodeCapacity(cpus, kib * 1024, online, nodes);
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new IllegalStateException("cannot read the node's memory from /proc/meminfo", e);
        }
        throw new IllegalStateException("/proc/meminfo has no MemTotal line");
    }
}
