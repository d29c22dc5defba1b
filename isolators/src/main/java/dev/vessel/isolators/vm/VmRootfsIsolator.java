package dev.vessel.isolators.vm;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import java.nio.file.Path;
import java.util.Set;

/** Gives a VM task its root filesystem: the provisioned rootfs, which the launcher shares by virtio-9p. */
public final class VmRootfsIsolator implements Isolator {
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
    public LaunchInfo prepare(PrepareContext context) {
        Path rootfs = context.get(ContainerKeys.ROOTFS);
        if (rootfs == null) {
            throw VesselException.invalid("root", "a VM task needs a root filesystem (an image or host_rootfs)");
        }
        return LaunchInfo.newBuilder().setRootfs(rootfs.toString()).build();
    }
}
