package dev.vessel.core.spi;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.EnvVar;
import java.nio.file.Path;

/**
 * How a task finds what was fetched for it (Mesos's fetcher promise): a container with {@code uris} gets its
 * sandbox, where they were fetched, bind-mounted read-write at {@link #TARGET} in its root filesystem (by
 * {@code filesystem/linux}; a VM task's guest gets it as one more share), named by {@code VESSEL_SANDBOX} and
 * {@code MESOS_SANDBOX}, and as its working directory when neither the config nor the image sets one. A task
 * without a root filesystem of its own sees the host's, so its sandbox is the host directory itself.
 */
public final class TaskSandbox {
    /**
     * Where the task sees its sandbox: a directory of Vessel's own at the top, which no distribution's image
     * has, so it never hides an image's files (Mesos's {@code /mnt/mesos/sandbox} would hide an image's /mnt
     * content below it, and names another project); {@code MESOS_SANDBOX} serves tasks written for Mesos.
     */
    public static final String TARGET = "/vessel/sandbox";
    public static final String ENV = "VESSEL_SANDBOX";
    public static final String MESOS_ENV = "MESOS_SANDBOX";

    private TaskSandbox() {
    }

    /** Does the task see a sandbox: it fetches something. */
    public static boolean applies(ContainerConfig config) {
        return config.getUrisCount() > 0;
    }

    /** Is the sandbox mounted into the task's own root filesystem (else the task sees the host's directory)? */
    public static boolean mounted(ContainerConfig config) {
        return applies(config) && config.getRootCase() != ContainerConfig.RootCase.ROOT_NOT_SET;
    }

    /** The sandbox's path as the task sees it. */
    public static String pathInTask(ContainerConfig config, Path hostSandbox) {
        return mounted(config) ? TARGET : hostSandbox.toString();
    }

    /** {@code path} (a file in the host's sandbox) as the task sees it. */
    public static String pathInTask(ContainerConfig config, Path hostSandbox, Path path) {
        if (!mounted(config)) {
            return path.toString();
        }
        Path relative = hostSandbox.relativize(path);
        return relative.toString().isEmpty() ? TARGET : TARGET + "/" + relative;
    }

    /**
     * The config with the sandbox's variables (unless it sets them itself) and, when it names no working
     * directory (the image's default applied first), the sandbox as its working directory.
     */
    public static ContainerConfig withDefaults(ContainerConfig config, Path hostSandbox) {
        if (!applies(config)) {
            return config;
        }
        String inTask = pathInTask(config, hostSandbox);
        ContainerConfig.Builder b = config.toBuilder();
        for (String name : new String[] {ENV, MESOS_ENV}) {
            if (config.getEnvList().stream().noneMatch(e -> e.getName().equals(name))) {
                b.addEnv(EnvVar.newBuilder().setName(name).setValue(inTask));
            }
        }
        if (config.getWorkingDir().isEmpty()) {
            b.setWorkingDir(inTask);
        }
        return b.build();
    }
}
