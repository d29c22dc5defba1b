package dev.vessel.node.oci;

import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * An engine takes the process its pid file names, the runtime's shim, for the container: podman reads that
 * process's {@code /proc/PID/cgroup} (its longest path) to find the cgroup its {@code stats} reads. So the
 * shim joins its task's cgroup in the one hierarchy that only accounts, v1's {@code cpuacct}: limits, the
 * freezer and the devices rules stay the task's alone, and the cgroups isolator hands such a watcher back to
 * the root instead of killing it with the task. A v2-only host has no such hierarchy (the task's one cgroup
 * would count the shim and kill it with the task): the shim stays where it is, and podman's stats shows it.
 */
public final class ShimCgroup {
    private ShimCgroup() {
    }

    /** Moves {@code shim} into the cgroup {@code task} has in the accounting hierarchy; false if there is none. */
    public static boolean join(CgroupHierarchies hierarchies, long task, long shim) throws IOException {
        Optional<CgroupHierarchy> accounting = hierarchies.forController("cpuacct").filter(h -> !h.unified()
                && List.of("freezer", "pids", "memory", "devices").stream().noneMatch(h.controllers()::contains));
        if (accounting.isEmpty()) {
            return false;
        }
        Optional<String> path = cgroupOf(task, accounting.get());
        if (path.isEmpty()) {
            return false;
        }
        Path procs = accounting.get().mountPoint().resolve(path.get().substring(1)).resolve("cgroup.procs");
        Files.writeString(procs, Long.toString(shim));
        return true;
    }

    /** The task's path in {@code hierarchy}, from its {@code /proc/PID/cgroup} lines {@code id:controllers:path}. */
    private static Optional<String> cgroupOf(long task, CgroupHierarchy hierarchy) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc", Long.toString(task), "cgroup"));
        return lines.stream().map(l -> l.split(":", 3)).filter(f -> f.length == 3)
                .filter(f -> List.of(f[1].split(",")).containsAll(hierarchy.controllers()))
                .map(f -> f[2]).findFirst();
    }
}
