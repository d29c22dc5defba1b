package dev.vessel.isolators.vm;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Gives a VM task its root filesystem: for an image, a view of the provisioned rootfs
 * ({@link VmRootfsView}) under the state dir's {@code vm-rootfs/<id>/}, which the launcher shares by
 * virtio-9p in QEMU's mapped model, so that what the guest writes there is never a setuid program or a
 * device node on the host; a {@code host_rootfs} as it is (the operator's directory, shared live). The
 * view goes when the container does; recovery removes the views of containers that are gone.
 */
public final class VmRootfsIsolator implements Isolator {
    private static final System.Logger LOG = System.getLogger(VmRootfsIsolator.class.getName());
    private final RuntimePaths paths;

    public VmRootfsIsolator(RuntimePaths paths) {
        this.paths = paths;
    }

    @Override
    public String name() {
        return "vm/rootfs";
    }

    @Override
    public boolean appliesTo(Isolation isolation) {
        return isolation == Isolation.VM;
    }

    @Override
    public Set<Key<?>> requires() {
        return Set.of(ContainerKeys.ROOTFS);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws IOException {
        Path rootfs = context.get(ContainerKeys.ROOTFS);
        if (rootfs == null) {
            throw VesselException.invalid("root", "a VM task needs a root filesystem (an image or host_rootfs)");
        }
        if (!context.config().getHostRootfs().isEmpty()) {
            // the operator's own directory, shared live and as it is (as a process container's)
            return LaunchInfo.newBuilder().setRootfs(rootfs.toString()).build();
        }
        Path view = VmRootfsView.create(paths.vmRootfsDir(context.containerId()), rootfs);
        return LaunchInfo.newBuilder().setRootfs(view.toString()).build();
    }

    @Override
    public void cleanup(ContainerContext context) throws IOException {
        VmRootfsView.remove(paths.vmRootfsDir(context.containerId()));
    }

    @Override
    public void recover(List<ContainerContext> containers) throws IOException {
        Path root = paths.vmRootfsDir();
        if (!Files.isDirectory(root)) {
            return;
        }
        Set<String> live = containers.stream().map(ContainerContext::containerId).collect(Collectors.toSet());
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path dir : dirs.toList()) {
                if (!live.contains(dir.getFileName().toString())) {
                    LOG.log(Level.INFO, "removing {0}: the rootfs view of a container that is gone", dir);
                    VmRootfsView.remove(dir);
                }
            }
        }
    }
}
