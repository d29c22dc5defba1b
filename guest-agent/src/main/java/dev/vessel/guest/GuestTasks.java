package dev.vessel.guest;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.linux.RtNetlink;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.launcher.process.LogReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tasks this guest runs for the host: each is a process container of the in-guest containerizer
 * whose root filesystem is the host's share, mounted under the guest's run directory, plus the
 * forwarder of its events. Errors name the field of the request that is wrong.
 */
final class GuestTasks {
    private final UnifiedContainerizer containerizer;
    private final RuntimePaths paths;
    private final RootfsShare share;
    private final HostLink link;
    private final LogReader logs;
    private final Map<String, Task> tasks = new ConcurrentHashMap<>();

    /** One task: where its share is mounted, and its event forwarder once it runs (its lock: launch, destroy). */
    private static final class Task {
        final Path shareDir;
        volatile TaskEvents events;

        Task(Path shareDir) {
            this.shareDir = shareDir;
        }
    }

    GuestTasks(UnifiedContainerizer containerizer, RuntimePaths paths, RootfsShare share, HostLink link) {
        this.containerizer = containerizer;
        this.paths = paths;
        this.share = share;
        this.link = link;
        this.logs = new LogReader(paths);
    }

    /**
     * Where a task's share is mounted: {@code <run dir>/shares/<id>}. The guest's own addition to the
     * run directory's layout; container ids are validated before they get here.
     */
    static Path shareDir(RuntimePaths paths, String containerId) {
        return paths.runDir().resolve("shares").resolve(containerId);
    }

    /**
     * Configures the guest's network for the task (when the host gave it NICs), mounts the share and
     * starts the task in it; returns the task's pid in the guest.
     */
    long launch(String containerId, ContainerConfig config, String rootfsTag, boolean readOnly,
            List<GuestInterface> interfaces) {
        requireId(containerId);
        if (!ConfigValidator.isValidId(containerId)) {
            throw VesselException.invalid("container_id", "'" + containerId + "' is not a valid container id");
        }
        if (rootfsTag.isEmpty()) {
            throw VesselException.invalid("rootfs_tag", "must name the share that holds the task's root filesystem");
        }
        Task task = new Task(shareDir(paths, containerId));
        if (tasks.putIfAbsent(containerId, task) != null) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, "container_id",
                    "task '" + containerId + "' exists already in this guest");
        }
        synchronized (task) { // a destroy of this task waits until its launch is done
            return launch(task, containerId, config, rootfsTag, readOnly, interfaces);
        }
    }

    private long launch(Task task, String containerId, ContainerConfig config, String rootfsTag, boolean readOnly,
            List<GuestInterface> interfaces) {
        boolean mounted = false;
        try {
            configureNetwork(interfaces);
            Files.createDirectories(task.shareDir);
            try {
                share.mount(rootfsTag, task.shareDir, readOnly);
            } catch (IOException e) {
                throw new VesselException(ErrorCode.UNAVAILABLE, "rootfs_tag",
                        "cannot mount the share '" + rootfsTag + "': " + e.getMessage(), e);
            }
            mounted = true;
            long pid = containerizer.launch(inGuest(containerId, config, task.shareDir)).getPid();
            task.events = TaskEvents.start(containerId, paths.containerDir(List.of(containerId)), logs,
                    containerizer.wait(containerId), link);
            return pid;
        } catch (IOException | RuntimeException e) {
            RuntimeException failure = e instanceof RuntimeException r ? r : VesselException.internal(
                    task.shareDir.toString(), "cannot create the share's mount point: " + e.getMessage(), e);
            try {
                releaseShare(task, mounted);
            } catch (IOException cleanup) {
                failure.addSuppressed(cleanup);
            }
            tasks.remove(containerId, task);
            throw failure;
        }
    }

    /** Brings the NICs the host gave up; the agent's threads are in the namespace the task shares. */
    private static void configureNetwork(List<GuestInterface> interfaces) {
        if (interfaces.isEmpty()) {
            return;
        }
        try (RtNetlink netlink = RtNetlink.open()) {
            GuestNetwork.configure(netlink, interfaces);
        } catch (IOException e) {
            throw VesselException.internal("interfaces", "cannot configure the guest's network: " + e.getMessage(), e);
        }
    }

    /**
     * The config the guest runs: the task as the host gave it, minus what the host already did
     * (image, volumes, networks, fetched URIs, the VM itself), as a process container on the share.
     * GPUs reach the guest as passed-through devices; the guest does not allocate them again.
     */
    static ContainerConfig inGuest(String containerId, ContainerConfig config, Path rootfs) {
        ContainerConfig.Builder b = config.toBuilder()
                .setId(containerId)
                .setIsolation(Isolation.PROCESS)
                .setHostRootfs(rootfs.toString())
                .clearVolumes()
                .clearNetworks()
                .clearUris()
                .clearVm()
                .clearParentId();
        if (b.hasResources()) {
            b.setResources(b.getResources().toBuilder().clearGpus());
        }
        return b.build();
    }

    void signal(String containerId, int signal) {
        requireLaunched(containerId);
        containerizer.kill(containerId, signal);
    }

    /** Kills the task, forgets it and unmounts its share; returns once all of that is done. */
    void destroy(String containerId) throws IOException, InterruptedException {
        requireId(containerId);
        Task task = tasks.get(containerId);
        if (task == null) {
            throw notFound(containerId);
        }
        synchronized (task) {
            if (tasks.get(containerId) != task) {
                throw notFound(containerId); // its launch failed, or a concurrent destroy was first
            }
            containerizer.destroy(containerId);
            if (task.events != null) {
                task.events.stop();
            }
            containerizer.remove(containerId);
            releaseShare(task, true);
            tasks.remove(containerId, task);
        }
    }

    void update(String containerId, Resources resources) {
        requireLaunched(containerId);
        containerizer.update(containerId, resources);
    }

    ResourceStatistics usage(String containerId) {
        requireLaunched(containerId);
        return containerizer.usage(containerId);
    }

    /** Destroys every task (the agent is going away). */
    void destroyAll() throws IOException, InterruptedException {
        for (String id : List.copyOf(tasks.keySet())) {
            destroy(id);
        }
    }

    /** Signal, update and usage are for tasks whose launch succeeded. */
    private void requireLaunched(String containerId) {
        requireId(containerId);
        Task task = tasks.get(containerId);
        if (task == null || task.events == null) {
            throw notFound(containerId);
        }
    }

    private static VesselException notFound(String containerId) {
        return VesselException.notFound("container_id", "no task '" + containerId + "' in this guest");
    }

    private static void requireId(String containerId) {
        if (containerId.isEmpty()) {
            throw VesselException.invalid("container_id", "must not be empty");
        }
    }

    private void releaseShare(Task task, boolean mounted) throws IOException {
        if (mounted) {
            share.unmount(task.shareDir);
        }
        Files.deleteIfExists(task.shareDir);
    }
}
