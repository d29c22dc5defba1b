package dev.vessel.core.spi;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.model.ExecConfig;
import java.nio.file.Path;

/**
 * One process to run inside a running container: its id (unique within the container), what the
 * user asked for, the directory the containerizer made for it (its exit status, logs and attach
 * socket live there, see {@code RuntimePaths}), and the launcher's checkpoint slot for it.
 */
public record ExecPlan(String execId, ExecConfig config, Path execDir, Checkpoint checkpoint) {
}
