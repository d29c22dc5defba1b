package dev.vessel.isolators.volume;

import dev.vessel.core.spi.Key;

/** Keys the volume isolators pass to the filesystem isolator. */
public final class VolumeKeys {
    /** Where the container's Docker volumes are mounted on the host, written by {@link DockerVolumeIsolator}. */
    public static final Key<DockerVolumeMounts> DOCKER_MOUNTS = Key.of("docker-volume-mounts", DockerVolumeMounts.class);

    private VolumeKeys() {
    }
}
