package dev.vessel.isolators.vm;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.paths.DirectoryEntries;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.ImageLayers;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.core.vm.QemuUser;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Gives a VM task its root filesystem: for an image, a view of the provisioned rootfs
 * ({@link VmRootfsView}) under the state dir's {@code vm-rootfs/<id>/}, which the launcher shares by
 * virtio-9p in QEMU's mapped model, so that an unprivileged QEMU reads the image and what the guest
 * writes there is never a setuid program or a device node on the host; a {@code host_rootfs} as it is
 * (the operator's directory, shared live: QEMU's user reaches there what that user may). The
 * view's mapped layer is shared by the views of one image ({@link VmMappedLayers}, built on its first
 * launch) when the provisioner names the image's layers, else built for the view. The view goes when the
 * container does; recovery removes the views of containers that are gone, and the shared mapped layers
 * of images whose layers are gone (recovery, not the provisioner's garbage collection: only this
 * isolator knows which views use a mapped layer, and at recovery no launch is building one).
 */
public final class VmRootfsIsolator implements Isolator {
    private static final System.Logger LOG = System.getLogger(VmRootfsIsolator.class.getName());
    private final RuntimePaths paths;
    private final QemuUser qemu;
    private final VmMappedLayers layers;

    public VmRootfsIsolator(RuntimePaths paths, QemuUser qemu) {
        this.paths = paths;
        this.qemu = qemu;
        this.layers = new VmMappedLayers(new VmMappedLayersPaths(paths), qemu);
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
        return Set.of(ContainerKeys.ROOTFS, ContainerKeys.IMAGE_LAYERS);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws IOException {
        Path rootfs = context.get(ContainerKeys.ROOTFS);
        if (rootfs == null && (context.config().getVm().hasMachine() || context.config().getPod())) {
            // a full VM boots its own disk, a VM pod's members bring theirs: there is no rootfs to share
            return LaunchInfo.getDefaultInstance();
        }
        if (rootfs == null) {
            throw VesselException.invalid("root", "a VM task needs a root filesystem (an image or host_rootfs)");
        }
        if (!context.config().getHostRootfs().isEmpty()) {
            // the operator's own directory, shared live and as it is (as a process container's)
            return LaunchInfo.newBuilder().setRootfs(rootfs.toString()).build();
        }
        ImageLayers imageLayers = context.get(ContainerKeys.IMAGE_LAYERS);
        Optional<Path> shared = imageLayers == null ? Optional.empty() : Optional.of(layers.layer(imageLayers, rootfs));
        Path dir = paths.vmRootfsDir(context.containerId());
        Path view = VmRootfsView.create(dir, rootfs, shared, qemu);
        qemu.allowSearch(paths.stateDir(), dir); // QEMU opens the share by its path
        return LaunchInfo.newBuilder().setRootfs(view.toString()).build();
    }

    @Override
    public void cleanup(ContainerContext context) throws IOException {
        VmRootfsView.remove(paths.vmRootfsDir(context.containerId()));
    }

    @Override
    public void recover(List<ContainerContext> containers) throws IOException {
        Path root = paths.vmRootfsDir();
        Set<String> live = containers.stream().map(ContainerContext::containerId).collect(Collectors.toSet());
        Set<Path> layersInUse = new HashSet<>();
        for (Path dir : DirectoryEntries.matching(root, "*")) {
            if (live.contains(dir.getFileName().toString())) {
                VmRootfsView.sharedLayer(dir).ifPresent(layersInUse::add);
            } else {
                LOG.log(Level.INFO, "removing {0}: the rootfs view of a container that is gone", dir);
                VmRootfsView.remove(dir);
            }
        }
        layers.sweep(layersInUse);
    }
}
