package dev.vessel.isolators.namespaces;

import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.model.IdMapping;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Namespace;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.core.userns.UserNamespaceMode;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code userns=auto}: the container runs in a user namespace of its own whose root is a block of
 * unprivileged host ids ({@link UserNamespaceRanges}), and the launcher idmaps its rootfs and bind mounts
 * to that namespace, so the image's and the volumes' files (owned by host root) are its root's, and what
 * its root writes is owned by host root on disk: nothing is chowned, images stay shared.
 *
 * <p>Each container's block is checkpointed before it is used, so a restarted daemon takes the blocks of
 * the containers still alive back ({@code recover}) and never hands one out twice; {@code cleanup}
 * frees it. {@code private}: the config's own maps, nothing allocated; an image's rootfs and the volumes are
 * idmapped as for {@code auto}, a rootfs directory (an OCI bundle's) is used as its maker left it.
 * {@code host} (and a VM task, a nested container) gets nothing from here.
 */
public final class UserNamespaceIsolator implements Isolator {
    static final ProtoCodec<UserNamespaceCheckpoint> CODEC = ProtoCodec.of(1, UserNamespaceCheckpoint.parser());

    private final UserNamespaceRanges ranges;

    public UserNamespaceIsolator(UserNamespaceRanges ranges) {
        this.ranges = Objects.requireNonNull(ranges, "ranges");
    }

    @Override
    public String name() {
        return "namespaces/user";
    }

    @Override
    public void recover(List<ContainerContext> containers) {
        for (ContainerContext c : containers) {
            load(c).ifPresent(ranges::reserve);
        }
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        if (context.config().getUserns().equals(UserNamespaceMode.PRIVATE.configName())) {
            return LaunchInfo.newBuilder()
                    .addNamespaces(Namespace.USER)
                    .addAllUidMappings(context.config().getUidMapList())
                    .addAllGidMappings(context.config().getGidMapList())
                    .setIdmappedMounts(context.config().hasImage())
                    .build();
        }
        if (!context.config().getUserns().equals(UserNamespaceMode.AUTO.configName())) {
            return LaunchInfo.getDefaultInstance();
        }
        UserNamespaceRanges.Allocation a = ranges.allocate();
        try {
            context.checkpoint().save(CODEC, UserNamespaceCheckpoint.newBuilder().setUidBase((int) a.uidBase())
                    .setGidBase((int) a.gidBase()).setSize((int) a.size()).build());
        } catch (RuntimeException e) {
            ranges.release(a);
            throw e;
        }
        return LaunchInfo.newBuilder()
                .addNamespaces(Namespace.USER)
                .addUidMappings(mapping(a.uidBase(), a.size()))
                .addGidMappings(mapping(a.gidBase(), a.size()))
                .setIdmappedMounts(true)
                .build();
    }

    @Override
    public void cleanup(ContainerContext context) {
        load(context).ifPresent(ranges::release);
        context.checkpoint().delete();
    }

    private static Optional<UserNamespaceRanges.Allocation> load(ContainerContext c) {
        return c.checkpoint().load(CODEC).map(ckpt -> new UserNamespaceRanges.Allocation(
                Integer.toUnsignedLong(ckpt.getUidBase()), Integer.toUnsignedLong(ckpt.getGidBase()),
                Integer.toUnsignedLong(ckpt.getSize())));
    }

    private static IdMapping mapping(long hostBase, long size) {
        return IdMapping.newBuilder().setContainerId(0).setHostId((int) hostBase).setSize((int) size).build();
    }
}
