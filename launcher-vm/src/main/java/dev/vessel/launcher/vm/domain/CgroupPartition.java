package dev.vessel.launcher.vm.domain;

import dev.vessel.core.cpu.CpuWeight;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Resources;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The cgroup partition Vessel's domains run under (the domain XML's {@code <resource><partition>}),
 * instead of libvirt's default {@code /machine}, which libvirt creates in every hierarchy and never
 * removes. Without systemd, libvirt creates only its default partition; any other must exist, as
 * {@code <name>.partition} in every hierarchy libvirt uses: {@link #ensure} makes it in every cgroup
 * hierarchy of the host (a directory libvirt does not use costs nothing), and {@link #removeIfEmpty}
 * removes it again where nothing runs in it. No other cgroup is ever touched.
 */
public final class CgroupPartition {
    /** One level, so libvirt's name for it is predictable: {@code /<name>} becomes {@code <name>.partition}. */
    private static final Pattern PARTITION = Pattern.compile("/[A-Za-z0-9][A-Za-z0-9_-]*");
    static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private final String partition;
    private final List<Path> hierarchyRoots;
    /** The v1 cpuset hierarchy, whose new cgroups start with no CPUs and no memory nodes. */
    private final Path cpusetRoot;
    /** Whether the domains' cpu controller is cgroup v2's: no v1 hierarchy has it. */
    private final boolean cpuOnV2;

    private CgroupPartition(String partition, List<Path> hierarchyRoots, Path cpusetRoot, boolean cpuOnV2) {
        this.partition = partition;
        this.hierarchyRoots = List.copyOf(hierarchyRoots);
        this.cpusetRoot = cpusetRoot;
        this.cpuOnV2 = cpuOnV2;
    }

    /** Whether {@code partition} is a name this class can manage: one absolute level, no dots. */
    public static boolean isValid(String partition) {
        return PARTITION.matcher(partition).matches();
    }

    /** The partition {@code partition} in the cgroup hierarchies mounted on this host. */
    public static CgroupPartition of(String partition) {
        return of(partition, MOUNTINFO);
    }

    /** As {@link #of(String)}, the hierarchies read from {@code mountinfo}. */
    static CgroupPartition of(String partition, Path mountinfo) {
        if (!isValid(partition)) {
            throw new IllegalArgumentException("a cgroup partition is one absolute level such as /vessel-vms, not '"
                    + partition + "'");
        }
        CgroupHierarchies hierarchies = CgroupHierarchies.detect(mountinfo);
        List<Path> roots = hierarchies.all().stream().map(CgroupHierarchy::mountPoint).toList();
        Path cpuset = hierarchies.forController("cpuset").filter(h -> !h.unified()).map(CgroupHierarchy::mountPoint)
                .orElse(null);
        boolean cpuOnV2 = hierarchies.forController("cpu").map(CgroupHierarchy::unified).orElse(true);
        return new CgroupPartition(partition, roots, cpuset, cpuOnV2);
    }

    /**
     * The CPU weight a domain under this partition gets for {@code resources} ({@link CpuWeight}, the rule a process
     * container's cgroup follows), as libvirt takes it: libvirt writes its {@code shares} to v1's {@code cpu.shares},
     * or as they are to v2's {@code cpu.weight}, so a v2 host gets the weight runc maps the shares to.
     */
    public long cpuWeight(Resources resources) {
        long shares = CpuWeight.shares(resources);
        return cpuOnV2 ? CpuWeight.v2Weight(shares) : shares;
    }

    private String directoryName() {
        return partition.substring(1) + ".partition";
    }

    /** The partition's directories, one per hierarchy. */
    public List<Path> directories() {
        return hierarchyRoots.stream().map(root -> root.resolve(directoryName())).toList();
    }

    /** Creates the partition where it is missing; a v1 cpuset partition gets its parent's CPUs and nodes. */
    public void ensure() {
        try {
            for (Path dir : directories()) {
                if (Files.isDirectory(dir)) {
                    continue;
                }
                Files.createDirectories(dir);
                if (cpusetRoot != null && dir.getParent().equals(cpusetRoot)) {
                    // libvirt copies these from the partition into each domain's cgroup: empty would refuse QEMU
                    for (String file : List.of("cpuset.cpus", "cpuset.mems")) {
                        Files.writeString(dir.resolve(file), Files.readString(cpusetRoot.resolve(file)).strip());
                    }
                }
            }
        } catch (IOException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "vm", "cannot create the cgroup partition " + partition
                    + " for the VMs: " + e.getMessage(), e);
        }
    }

    /**
     * Removes the partition from every hierarchy where it holds no domain (the kernel refuses to
     * remove a cgroup with children or processes: those stay). Returns the directories left.
     */
    public List<Path> removeIfEmpty() {
        List<Path> left = new ArrayList<>();
        for (Path dir : directories()) {
            try {
                Files.delete(dir);
            } catch (NoSuchFileException e) {
                // not there: nothing to do
            } catch (DirectoryNotEmptyException e) {
                left.add(dir);
            } catch (FileSystemException e) {
                left.add(dir); // EBUSY: a domain's cgroup or a process is in it
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove the cgroup partition " + dir, e);
            }
        }
        return left;
    }
}
