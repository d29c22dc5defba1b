package dev.vessel.core.spi;

import dev.vessel.core.model.ImageReference;
import java.util.Set;

/** Turns an image reference into a root filesystem for one container. */
public interface Provisioner {
    ProvisionedRootfs provision(String containerId, ImageReference image) throws Exception;

    /**
     * Like {@link #provision}, for a container whose rootfs the launcher idmaps into its user
     * namespace: overlayfs cannot be idmapped, only its layers can, so an overlay is described by its
     * layers and left for the launcher to mount. A backend whose rootfs is a plain directory
     * provisions as usual: the launcher idmaps the directory.
     */
    default ProvisionedRootfs provisionUnmounted(String containerId, ImageReference image) throws Exception {
        return provision(containerId, image);
    }

    /** Removes the container's rootfs (idempotent; the image's layers stay cached). */
    void destroy(String containerId) throws Exception;

    /** At start-up: removes every rootfs that belongs to none of these containers. */
    void recover(Set<String> containerIds) throws Exception;
}
