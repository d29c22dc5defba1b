package dev.vessel.core.spi;

import java.nio.file.Path;

/** Keys the containerizer itself provides to every isolator chain. */
public final class ContainerKeys {
    /** Name under which the containerizer appears as the provider of these keys. */
    public static final String PROVIDER = "containerizer";

    /** The container's root filesystem: provisioned from its image, or its host rootfs. */
    public static final Key<Path> ROOTFS = Key.of("rootfs", Path.class);

    /**
     * The image layers its provisioned {@link #ROOTFS} shows as they are, when the provisioner can tell
     * (an overlay of the image's layers); absent for a copy or bind rootfs and a host rootfs.
     */
    public static final Key<ImageLayers> IMAGE_LAYERS = Key.of("image_layers", ImageLayers.class);

    /** The container's sandbox directory, where its URIs were fetched. */
    public static final Key<Path> SANDBOX = Key.of("sandbox", Path.class);

    /**
     * For a pod's member: the pid (on this node) of its pod's task, whose network, IPC and UTS namespaces
     * the member joins; absent for any other container.
     */
    public static final Key<Long> POD_TASK = Key.of("pod_task", Long.class);

    private ContainerKeys() {
    }
}
