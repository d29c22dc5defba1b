package dev.vessel.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.spi.Containerizer;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * One sample of a running container's usage, for {@code GET /v1/containers/{id}/stats}: what its isolators
 * count (CPU time, memory, pids: the cgroups of a process container, the guest's for a VM task), and what the
 * host sees of its processes: block I/O as their {@code /proc/PID/io} bytes (the kernel adds a reaped child's
 * to its parent's, so ended processes still count while their ancestors live; a VM task's are QEMU's, its
 * disks), and a process container's network as {@code /proc/PID/net/dev} of its own network namespace (none
 * counted when it shares the host's). A VM task's network is what its taps moved ({@code vm/network}'s usage);
 * none is counted for a VM without networks.
 */
final class ContainerStats {
    private static final Path PROC = Path.of("/proc");

    private final Containerizer containerizer;
    private final ContainerNames names;

    ContainerStats(Containerizer containerizer, ContainerNames names) {
        this.containerizer = containerizer;
        this.names = names;
    }

    void stats(Exchange ex) {
        ex.json(HttpResponseStatus.OK, sample(ex.param("id")).toString());
    }

    private ObjectNode sample(String id) {
        ContainerStatus status = containerizer.status(id);
        ResourceStatistics usage = containerizer.usage(id);
        List<Long> pids = containerizer.processes(id);
        long user = Math.round(usage.getCpuUserSeconds() * 1e9);
        long system = Math.round(usage.getCpuSystemSeconds() * 1e9);
        long limit = usage.getMemoryLimitBytes() > 0 ? usage.getMemoryLimitBytes() : hostMemory();
        ObjectNode json = ProtoJson.MAPPER.createObjectNode().put("id", id).put("name", names.name(id))
                .put("isolation", status.getIsolation().name().toLowerCase(Locale.ROOT))
                .put("timestamp", Instant.ofEpochSecond(usage.getTimestamp().getSeconds(),
                        usage.getTimestamp().getNanos()).toString())
                .put("timestamp_nano", usage.getTimestamp().getSeconds() * 1_000_000_000L + usage.getTimestamp().getNanos())
                .put("cpu_nanos", user + system).put("cpu_user_nanos", user).put("cpu_system_nanos", system)
                .put("online_cpus", Runtime.getRuntime().availableProcessors())
                .put("memory_usage_bytes", usage.getMemoryUsageBytes()).put("memory_limit_bytes", limit)
                .put("memory_peak_bytes", usage.getMemoryPeakBytes())
                .put("pids", usage.getPidsCurrent() > 0 ? usage.getPidsCurrent() : pids.size())
                .put("pids_limit", usage.getPidsLimit());
        long read = 0;
        long written = 0;
        for (long pid : pids) {
            long[] io = io(pid);
            read += io[0];
            written += io[1];
        }
        json.put("block_read_bytes", read).put("block_write_bytes", written);
        long[] net = status.getIsolation() == Isolation.VM
                ? (containerizer.config(id).getNetworksCount() > 0 ? new long[] {usage.getNetRxBytes(), usage.getNetTxBytes()} : null)
                : status.getPid() > 0 ? network(status.getPid()) : null;
        json.put("network_counted", net != null);
        if (net != null) {
            json.put("net_rx_bytes", net[0]).put("net_tx_bytes", net[1]);
        }
        return json;
    }

    /** read_bytes and write_bytes of {@code /proc/PID/io}; zeros for a process that has just ended. */
    private static long[] io(long pid) {
        long[] io = new long[2];
        try {
            for (String line : Files.readAllLines(PROC.resolve(Long.toString(pid)).resolve("io"))) {
                if (line.startsWith("read_bytes:")) {
                    io[0] = Long.parseLong(line.substring(11).trim());
                } else if (line.startsWith("write_bytes:")) {
                    io[1] = Long.parseLong(line.substring(12).trim());
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone meanwhile: it counts no more
        }
        return io;
    }

    /** Received and sent bytes of every interface but {@code lo} in the task's namespace; null when that is the host's. */
    private static long[] network(long pid) {
        Path proc = PROC.resolve(Long.toString(pid));
        try {
            if (Files.readSymbolicLink(proc.resolve("ns/net")).equals(Files.readSymbolicLink(PROC.resolve("self/ns/net")))) {
                return null;
            }
            long[] bytes = new long[2];
            for (String line : Files.readAllLines(proc.resolve("net/dev"))) {
                int colon = line.indexOf(':');
                if (colon < 0 || line.substring(0, colon).trim().equals("lo")) {
                    continue; // the two header lines, and the task talking to itself
                }
                String[] f = line.substring(colon + 1).trim().split("\\s+");
                bytes[0] += Long.parseLong(f[0]);
                bytes[1] += Long.parseLong(f[8]);
            }
            return bytes;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The host's memory, podman's limit for a container without one of its own. */
    private static long hostMemory() {
        try {
            for (String line : Files.readAllLines(PROC.resolve("meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // unknown: no limit shown
        }
        return 0;
    }
}
