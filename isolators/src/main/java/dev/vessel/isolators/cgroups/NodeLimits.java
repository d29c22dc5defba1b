package dev.vessel.isolators.cgroups;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * Node-wide limits, set on the cgroup parent every container of the node goes under: the kernel counts
 * a container's processes and memory against each of its ancestors too, so all containers together stay
 * within them whatever each one's own limit (a container with {@code pids} -1 included). The daemon
 * applies them once at start-up. A limit that is not configured is set back to none on a parent that
 * exists, so after a restart the configuration is the truth, not what an earlier daemon left.
 *
 * <p>The VM launcher's domains go to a partition of their own beside the parent: these limits do not
 * cover QEMU (a VM task's guest memory is bounded by its VM size).
 *
 * @param memoryBytes the most memory the node's containers may use together (page cache and tmpfs included)
 * @param pids        the most processes and threads they may have together
 */
public record NodeLimits(OptionalLong memoryBytes, OptionalLong pids) {
    public static final NodeLimits NONE = new NodeLimits(OptionalLong.empty(), OptionalLong.empty());

    /** Writes the limits onto {@code parent} in the hierarchies that have the controllers. */
    public void applyTo(CgroupHierarchies hierarchies, String parent) {
        apply(hierarchies, parent, "memory", memoryBytes, "node_memory_limit");
        apply(hierarchies, parent, "pids", pids, "node_pids_limit");
    }

    private static void apply(CgroupHierarchies hierarchies, String parent, String controller, OptionalLong limit,
            String field) {
        CgroupHierarchy h = hierarchies.forController(controller).orElse(null);
        if (h == null) {
            if (limit.isPresent()) {
                throw new VesselException(ErrorCode.UNAVAILABLE, field,
                        "no cgroup hierarchy on this host has the " + controller + " controller to hold the limit");
            }
            return;
        }
        Path dir = h.mountPoint().resolve(parent);
        if (limit.isEmpty() && !Files.isDirectory(dir)) {
            return; // nothing to set back
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw VesselException.internal(dir.toString(), "cannot create the cgroup parent: " + e.getMessage(), e);
        }
        if (h.unified()) {
            // on v2 the parent has the controller's files only once every ancestor enabled it
            CgroupsIsolator.enableAlongPath(h.mountPoint(), dir, List.of(controller));
        }
        String file = controller.equals("pids") ? "pids.max" : h.unified() ? "memory.max" : "memory.limit_in_bytes";
        String none = h.unified() || controller.equals("pids") ? "max" : "-1";
        try {
            CgroupFiles.write(dir, file, limit.isPresent() ? Long.toString(limit.getAsLong()) : none);
        } catch (VesselException e) {
            // e.g. EBUSY: the node's containers use more memory than the new limit already
            throw new VesselException(ErrorCode.UNAVAILABLE, field, "cannot set " + dir.resolve(file) + ": "
                    + e.getMessage(), e);
        }
    }
}
