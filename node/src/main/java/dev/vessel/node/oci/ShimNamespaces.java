package dev.vessel.node.oci;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An engine names another container's namespaces by the process its pid file gave it ({@code /proc/PID/ns/ipc}:
 * podman's {@code --ipc container:ID}, containerd's CRI for a pod's sandbox), and that process is the runtime's
 * shim, which lives in its task's mount namespace and the host's others ({@link ShimCgroup} says why it exists).
 * Such a path is taken for the task's own namespace: {@code /proc/TASK/ns/ipc}, the task whose mount namespace the
 * named process is in. Any other path is left as it is (the namespaces isolator refuses one that is the host's).
 */
public final class ShimNamespaces {
    private static final Pattern PROC_NS = Pattern.compile("/proc/([0-9]+)/ns/([a-z_]+)");

    private ShimNamespaces() {
    }

    /**
     * {@code config} with each joined namespace of a shim's process replaced by its task's: those of
     * {@code namespace_paths} and the network namespace (a podman pod's members name their infra container's).
     */
    public static ContainerConfig resolve(ContainerConfig config, List<ContainerStatus> containers) {
        if (config.getNamespacePathsCount() == 0 && config.getNetworkNamespacePath().isEmpty()) {
            return config;
        }
        Map<String, String> resolved = new TreeMap<>();
        config.getNamespacePathsMap().forEach((type, path) -> resolved.put(type, ofTask(path, containers)));
        ContainerConfig.Builder out = config.toBuilder().clearNamespacePaths().putAllNamespacePaths(resolved);
        if (!config.getNetworkNamespacePath().isEmpty()) {
            out.setNetworkNamespacePath(ofTask(config.getNetworkNamespacePath(), containers));
        }
        return out.build();
    }

    /** {@code path}, or its task's namespace of the same type when it names a shim's. */
    private static String ofTask(String path, List<ContainerStatus> containers) {
        return taskOf(path, containers).map(task -> "/proc/" + task + "/ns/" + PROC_NS.matcher(path).replaceFirst("$2"))
                .orElse(path);
    }

    /** The task whose mount namespace the process of {@code path} is in, when that process is not the task. */
    private static Optional<Long> taskOf(String path, List<ContainerStatus> containers) {
        Matcher m = PROC_NS.matcher(path);
        if (!m.matches()) {
            return Optional.empty();
        }
        long named = Long.parseLong(m.group(1));
        Optional<String> mounts = mountNamespace(named);
        if (mounts.isEmpty()) {
            return Optional.empty();
        }
        return containers.stream().map(ContainerStatus::getPid).filter(pid -> pid > 0 && pid != named)
                .filter(pid -> mounts.equals(mountNamespace(pid))).findFirst();
    }

    private static Optional<String> mountNamespace(long pid) {
        try {
            return Optional.of(Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", "mnt")).toString());
        } catch (IOException e) {
            return Optional.empty(); // gone, or no process of ours
        }
    }
}
