package dev.vessel.core.spi;

import dev.vessel.core.model.ImageReference;
import java.util.Set;

/** Turns an image reference into a root filesystem for one container. */
public interface Provisioner {
    ProvisionedRootfs provision(String containerId, ImageReference image) throws Exception;

    /** Removes the container's rootfs (idempotent; the image's layers stay cached). */
    void destroy(String containerId) throws Exception;

    /** At start-up: removes every rootfs that belongs to none of these containers. */
    void recover(Set<String> containerIds) throws Exception;
}
