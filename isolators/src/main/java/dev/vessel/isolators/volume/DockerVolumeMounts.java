package dev.vessel.isolators.volume;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The host mountpoints of one container's Docker volumes, by their index in the config's
 * {@code volumes}; {@code filesystem/linux} bind-mounts each into the container.
 */
public record DockerVolumeMounts(Map<Integer, Path> byVolumeIndex) {
    public DockerVolumeMounts {
        byVolumeIndex = Map.copyOf(byVolumeIndex);
    }

    public Optional<Path> mountpoint(int volumeIndex) {
        return Optional.ofNullable(byVolumeIndex.get(volumeIndex));
    }
}
