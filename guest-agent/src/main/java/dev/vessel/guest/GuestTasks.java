package dev.vessel.guest;

import dev.vessel.core.agent.GuestMount;
import dev.vessel.core.agent.LaunchTask;
import dev.vessel.core.hooks.ContainerHooks;
import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.Volume;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.Trees;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.launcher.process.LogReader;
import dev.vessel.linux.LibC;
import dev.vessel.linux.Mounts;
import dev.vessel.linux.RtNetlink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The tasks this guest runs for the host: each is a process container of the in-guest containerizer
 * whose root filesystem is the host's share, mounted under the guest's run directory, with its
 * volumes (shares, disks, tmpfs) made ready by {@link GuestVolumes}, plus the forwarder of its
 * events and the processes exec'd into it. Errors name the field of the request that is wrong.
 */
final class GuestTasks {
    private final UnifiedContainerizer containerizer;
    private final RuntimePaths paths;
    private final GuestPaths guestPaths;
    private final HostShare share;
    private final GuestVolumes volumes;
    private final HostLink link;
    private final LogReader logs;
    private final TaskStdio stdio;
    /** Starts a launch helper ahead of the next launch (the process launcher's spare). */
    private final Runnable startSpareHelper;
    private final Map<String, Task> tasks = new ConcurrentHashMap<>();
    /**
     * How long the task's exit waits for its execs' ends to be known (they die with its pid namespace),
     * so that the host hears of them before the task's end, after which it tears the VM down.
     */
    private static final long EXECS_END_PATIENCE_MS = 2000;
    private static final String START_HOOKS = "startContainer";
    /** The warm-up's task: not a host's (it never reaches {@link #tasks}) and gone before any is launched. */
    private static final String WARM_UP_ID = "vessel-warm-up";
    /** How long the warm-up waits for its task's exit to be forwarded (to its sink) once the task ended. */
    private static final long WARM_UP_EVENTS_PATIENCE_MS = 10_000;
    /** Where the guest image installs busybox. */
    private static final Path INITRAMFS_BUSYBOX = Path.of("/usr/bin/busybox");

    /**
     * One task: where its share and its volumes are mounted, and its event forwarder once it runs
     * (its lock: launch, destroy).
     */
    private static final class Task {
        final Path shareDir;
        final Path volumesDir;
        final boolean writesToADisk;
        volatile TaskEvents events;
        /** Its execs, by the host's exec id. */
        final Map<String, ExecutedProcess> execs = new ConcurrentHashMap<>();

        Task(Path shareDir, Path volumesDir, List<GuestMount> mounts) {
            this.shareDir = shareDir;
            this.volumesDir = volumesDir;
            this.writesToADisk = mounts.stream().anyMatch(m -> m.hasDisk() && !m.getReadOnly());
        }
    }

    /**
     * The guest's: disks are found among its own block devices, stdio and execs through its process launcher;
     * {@code startSpareHelper} is what the warm-up does last, so that the task after it finds a launch helper started.
     */
    GuestTasks(UnifiedContainerizer containerizer, Launcher launcher, RuntimePaths paths, HostShare share, HostLink link,
            Runnable startSpareHelper) {
        this(containerizer, paths, share, BlockDevices.GUEST, link, new LauncherStdio(containerizer, launcher),
                startSpareHelper);
    }

    GuestTasks(UnifiedContainerizer containerizer, RuntimePaths paths, HostShare share, BlockDevices disks,
            HostLink link, TaskStdio stdio, Runnable startSpareHelper) {
        this.containerizer = containerizer;
        this.paths = paths;
        this.guestPaths = new GuestPaths(paths);
        this.share = share;
        this.volumes = new GuestVolumes(share, disks);
        this.link = link;
        this.logs = new LogReader(paths);
        this.stdio = stdio;
        this.startSpareHelper = startSpareHelper;
    }

    /**
     * Configures the guest's network for the task (when the host gave it NICs), mounts the share and
     * the volumes and starts the task; returns the task's pid in the guest, and with {@code attach} a
     * connection to its stdio made before it started.
     */
    Launched launch(LaunchTask request, boolean attach) {
        String containerId = request.getContainerId();
        requireId(containerId);
        if (!ConfigValidator.isValidId(containerId)) {
            throw VesselException.invalid("container_id", "'" + containerId + "' is not a valid container id");
        }
        boolean pod = request.getConfig().getPod();
        if (request.getRootfsTag().isEmpty() && !pod) {
            throw VesselException.invalid("rootfs_tag", "must name the share that holds the task's root filesystem");
        }
        String parent = request.getConfig().getParentId();
        if (!parent.isEmpty() && !tasks.containsKey(parent)) {
            throw VesselException.notFound("config.parent_id", "no pod '" + parent + "' runs in this guest");
        }
        Path inShare = rootfsPath(request.getRootfsPath());
        Task task = new Task(guestPaths.shareDir(containerId), guestPaths.volumesDir(containerId), request.getMountsList());
        if (tasks.putIfAbsent(containerId, task) != null) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, "container_id",
                    "task '" + containerId + "' exists already in this guest");
        }
        synchronized (task) { // a destroy of this task waits until its launch is done
            return launch(task, request, inShare, attach);
        }
    }

    /** A task the guest started: its pid, and its stdio when it was attached to before its start (else null). */
    record Launched(long pid, StdioChannel stdio) {
    }

    /** The task's root relative to the share's top: empty for the share itself, never out of it. */
    private static Path rootfsPath(String path) {
        Path relative = Path.of(path).normalize();
        if (relative.isAbsolute() || relative.startsWith("..")) {
            throw VesselException.invalid("rootfs_path", "must be a path inside the share, not '" + path + "'");
        }
        return relative;
    }

    private Launched launch(Task task, LaunchTask request, Path inShare, boolean attach) {
        String containerId = request.getContainerId();
        boolean mounted = false;
        try {
            configureNetwork(request.getInterfacesList());
            GuestSysctls.applyNetwork(request.getConfig());
            if (request.getConfig().getPod()) {
                return start(task, containerId, List.of(containerId), inGuestPod(containerId, request.getConfig()), attach);
            }
            Trees.createDirectories(task.shareDir);
            try {
                share.mount(request.getRootfsTag(), request.getRootfsVirtiofs() ? HostShare.Kind.VIRTIO_FS
                        : HostShare.Kind.NINE_P, task.shareDir, request.getRootfsReadOnly());
            } catch (IOException e) {
                throw new VesselException(ErrorCode.UNAVAILABLE, "rootfs_tag",
                        "cannot mount the share '" + request.getRootfsTag() + "': " + e.getMessage(), e);
            }
            mounted = true;
            Path rootfs = task.shareDir.resolve(inShare);
            if (!Files.isDirectory(rootfs)) {
                throw VesselException.invalid("rootfs_path", "the share '" + request.getRootfsTag() + "' has no directory '"
                        + request.getRootfsPath() + "'");
            }
            List<Volume> taskVolumes = volumes.mount(request.getMountsList(), task.volumesDir);
            String parent = request.getConfig().getParentId();
            return start(task, containerId, parent.isEmpty() ? List.of(containerId) : List.of(parent, containerId),
                    inGuest(containerId, request.getConfig(), rootfs, taskVolumes), attach);
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

    /**
     * Launches the task and starts forwarding its events; {@code lineage}: its pod's id, if any, then its own.
     * With {@code attach}, it is created, attached to and only then started, so that nothing it prints is missed.
     */
    private Launched start(Task task, String containerId, List<String> lineage, ContainerConfig config, boolean attach) {
        return start(task, containerId, lineage, config, attach, link);
    }

    /** As above, its events sent to {@code to}: the host's link, or the warm-up's sink. */
    private Launched start(Task task, String containerId, List<String> lineage, ContainerConfig config, boolean attach,
            HostLink to) {
        Launched launched = attach || !ContainerHooks.of(config, START_HOOKS).isEmpty() ? createAttachStart(config, attach)
                : new Launched(containerizer.launch(config).getPid(), null);
        // the end as soon as it is known, not after the guest's cleanup of the task: the host destroys a VM task's
        // VM once it hears of it, and a pod's member is removed only once that cleanup is done (its lock)
        task.events = TaskEvents.start(containerId, paths.containerDir(lineage), logs,
                afterExecs(flushedOnExit(containerizer.ended(containerId), task), task), to);
        return launched;
    }

    /**
     * Creates the task, attaches to it (with {@code attach}), runs its OCI {@code startContainer} hooks inside it
     * (an OCI VM container's: the host has no task to run them in) and only then starts it; a failure leaves
     * nothing of it.
     */
    private Launched createAttachStart(ContainerConfig config, boolean attach) {
        long pid = containerizer.create(config).getPid();
        StdioChannel stdio = null;
        try {
            stdio = attach ? containerizer.attach(config.getId()) : null;
            ContainerHooks.runInside(START_HOOKS, containerizer, config, ContainerHooks.createdState(config, pid));
            return new Launched(containerizer.start(config.getId()).getPid(), stdio);
        } catch (RuntimeException e) {
            try {
                if (stdio != null) {
                    stdio.close();
                }
                containerizer.destroy(config.getId());
                containerizer.remove(config.getId());
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
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
     * The task's exit, reported only once what it wrote to a disk is on that disk: the host destroys
     * the VM as soon as it hears of the exit, and the guest's page cache goes with it. (A share needs
     * nothing: 9p writes reach the host as they are made, and what a shared mapping wrote once it is unmapped,
     * at the latest when its process exits: VmVolumeTaskTest's task writes through one and never msyncs.)
     */
    private static CompletableFuture<Termination> flushedOnExit(CompletableFuture<Termination> exit, Task task) {
        return task.writesToADisk ? exit.thenApplyAsync(t -> {
            LibC.sync();
            return t;
        }) : exit;
    }

    /** The task's exit, once its execs' ends are known too (briefly: they die with it). */
    private static CompletableFuture<Termination> afterExecs(CompletableFuture<Termination> exit, Task task) {
        return exit.thenCompose(t -> CompletableFuture.allOf(task.execs.values().stream()
                        .map(p -> p.exit().exceptionally(e -> 255)).toArray(CompletableFuture[]::new))
                .completeOnTimeout(null, EXECS_END_PATIENCE_MS, TimeUnit.MILLISECONDS)
                .thenApply(done -> t));
    }

    /**
     * The config the guest runs: the task as the host gave it, minus what the host already did or does (image,
     * networks or the network namespace, fetched URIs, the VM itself, its restarts and health checks), as a process
     * container on the share, with the volumes made ready in the guest instead of the host's, sharing the guest's
     * network namespace (whose parameters the agent set: {@link GuestSysctls}), without what names the host's hardware
     * ({@link #guestProcess}). A pod's
     * member stays its pod's member in the guest: it joins the namespaces of the pod's task there, which shares the
     * guest's network.
     */
    static ContainerConfig inGuest(String containerId, ContainerConfig config, Path rootfs, List<Volume> volumes) {
        ContainerConfig.Builder b = guestProcess(containerId, config)
                .setHostRootfs(rootfs.toString())
                .clearVolumes()
                .addAllVolumes(volumes)
                .clearUris();
        if (config.getParentId().isEmpty()) {
            // the guest's namespace already holds the NICs the host attached: the VM is the boundary
            b.addNetworks(NetworkAttachment.newBuilder().setNetwork(NetworkNames.HOST));
        }
        return b.build();
    }

    /**
     * What every config the guest runs starts from: a process container of {@code containerId} without what the host
     * does for a VM task (its networks or network namespace, whose interfaces are the guest's NICs; the VM itself;
     * restarts, in a new VM; health checks, execs into the guest; the network's kernel parameters, which the agent
     * set) and without what names the host's hardware: its GPUs (the host refuses them for VM tasks today; once they
     * reach a VM it will be as passed-through devices the guest does not allocate), its cpuset's CPUs and memory nodes
     * (the host pins the VM to them; the guest numbers its vCPUs from 0) and its huge page limits (the host's pages, 0
     * for a VM task, whose guest memory is none of them).
     */
    private static ContainerConfig.Builder guestProcess(String containerId, ContainerConfig config) {
        ContainerConfig.Builder b = config.toBuilder()
                .setId(containerId)
                .setIsolation(Isolation.PROCESS)
                .clearNetworks()
                .clearNetworkNamespacePath()
                .clearVm()
                .clearRestart()
                .clearHealthCheck();
        GuestSysctls.withoutNetwork(b);
        if (b.hasResources()) {
            b.setResources(b.getResources().toBuilder().clearGpus().clearCpusetCpus().clearCpusetMems()
                    .clearHugepageLimits());
        }
        return b;
    }

    /**
     * A VM pod's own task in its guest: the launch helper's pause, in the guest's network namespace (which
     * holds the pod's NICs) with IPC and UTS namespaces of its own that the members join, and the pod's limits.
     */
    static ContainerConfig inGuestPod(String containerId, ContainerConfig config) {
        return guestProcess(containerId, config)
                .addNetworks(NetworkAttachment.newBuilder().setNetwork(NetworkNames.HOST)).build();
    }

    void signal(String containerId, int signal) {
        requireLaunched(containerId);
        containerizer.kill(containerId, signal);
    }

    /** The stdio of the running task ({@code execId} empty) or of one of its execs. */
    StdioChannel openStdio(String containerId, String execId) throws Exception {
        Task task = requireLaunched(containerId);
        return execId.isEmpty() ? stdio.attach(containerId) : exec(task, execId).attach();
    }

    /**
     * Runs a process in the task's container under the host's id; its end is reported as exec_exited. With
     * {@code attach}, returns a connection to its stdio made before it ran; else null.
     */
    StdioChannel exec(String containerId, String execId, ExecConfig config, boolean attach) throws Exception {
        Task task = requireLaunched(containerId);
        if (!ConfigValidator.isValidId(execId)) {
            throw VesselException.invalid("exec_id", "'" + execId + "' is not a valid exec id");
        }
        synchronized (task.execs) {
            if (task.execs.containsKey(execId)) {
                throw new VesselException(ErrorCode.ALREADY_EXISTS, "exec_id", "exec '" + execId
                        + "' exists already in task '" + containerId + "'");
            }
            AttachedExec started = attach ? stdio.execAttached(containerId, execId, config)
                    : new AttachedExec(stdio.exec(containerId, execId, config), null);
            task.execs.put(execId, started.process());
            task.events.addExec(execId, started.process().exit());
            return started.stdio();
        }
    }

    /** Whether the task has exec {@code execId} (a restarted host asks); fails naming exec_id when not. */
    void findExec(String containerId, String execId) {
        exec(requireLaunched(containerId), execId);
    }

    void signalExec(String containerId, String execId, int signal) throws Exception {
        exec(requireLaunched(containerId), execId).signal(signal);
    }

    private static ExecutedProcess exec(Task task, String execId) {
        ExecutedProcess process = task.execs.get(execId);
        if (process == null) {
            throw VesselException.notFound("exec_id", "no exec '" + execId + "' in this task");
        }
        return process;
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

    /**
     * Runs a throwaway {@code echo} through the in-guest containerizer — isolators, launch helper, its output
     * and exit forwarded as a task's are (to a sink, not the host), destroy, removal — in a root made of the
     * initramfs's busybox, then removes it all: what a guest booted ahead of demand does before its first task,
     * which then finds that path's classes loaded, its native calls linked and its threads started (seconds
     * under TCG on a first use). Each of {@code shareTags} is mounted first, so that a launch only binds it, and a
     * launch helper is started last, for the task to take. What a task's launch does before the containerizer's is
     * rehearsed too (see {@link #rehearseLaunchRequest}).
     */
    void warmUp(List<String> shareTags) throws IOException, InterruptedException {
        for (int i = 0; i < shareTags.size(); i++) {
            try {
                share.mountAhead(shareTags.get(i), HostShare.Kind.NINE_P);
            } catch (IOException e) {
                throw new VesselException(ErrorCode.UNAVAILABLE, "share_tags[" + i + "]",
                        "cannot mount the share '" + shareTags.get(i) + "': " + e.getMessage(), e);
            }
        }
        Path root = guestPaths.warmUpRoot();
        Path busybox = Files.isExecutable(INITRAMFS_BUSYBOX) ? INITRAMFS_BUSYBOX : Path.of("/bin/busybox");
        Task task = new Task(guestPaths.shareDir(WARM_UP_ID), guestPaths.volumesDir(WARM_UP_ID), List.of());
        FrameSink sink = new FrameSink();
        try {
            rehearseLaunchRequest(root); // inside: a failed rehearsal's scratch root goes with the rest
            for (String dir : List.of("bin", "proc", "sys", "dev", "tmp")) {
                Trees.createDirectories(root.resolve(dir));
            }
            Files.copy(busybox, root.resolve("bin/busybox"), StandardCopyOption.REPLACE_EXISTING);
            start(task, WARM_UP_ID, List.of(WARM_UP_ID), ContainerConfig.newBuilder().setId(WARM_UP_ID)
                    .setIsolation(Isolation.PROCESS).setHostRootfs(root.toString()).addCommand("/bin/busybox")
                    .addArgs("echo").addArgs("warm")
                    .addNetworks(NetworkAttachment.newBuilder().setNetwork(NetworkNames.HOST)).build(), // as inGuest
                    false, sink.link());
            Termination end = containerizer.wait(WARM_UP_ID).get();
            if (end.getExitCode() != 0 || end.getStatusCase() != Termination.StatusCase.EXIT_CODE) {
                throw VesselException.internal("warm_up", "the warm-up task ended with " + end, null);
            }
            sink.awaitExit(WARM_UP_EVENTS_PATIENCE_MS);
            startSpareHelper.run();
        } catch (ExecutionException e) {
            throw VesselException.internal("warm_up", "the warm-up task failed: " + e.getCause(), e.getCause());
        } finally {
            if (task.events != null) {
                task.events.stop();
            }
            if (containerizer.list().stream().anyMatch(s -> s.getId().equals(WARM_UP_ID))) {
                containerizer.destroy(WARM_UP_ID);
                containerizer.remove(WARM_UP_ID);
            }
            for (String file : List.of("bin/busybox", "bin", "proc", "sys", "dev", "tmp", "")) {
                Files.deleteIfExists(root.resolve(file));
            }
        }
    }

    /**
     * The agent's own steps of a launch that the warm-up task skips, each once: a launch request parsed as the
     * host sends one (protobuf loads a message's classes at its first parse, and the warm-up's config names no
     * image), and a bind mount at {@code scratch} (the rootfs's bind links the mount(2) downcall at its first call,
     * which a guest that mounted no share ahead, a template's, would otherwise do in its task's launch); both cost
     * tens of milliseconds interpreted under TCG.
     */
    private static void rehearseLaunchRequest(Path scratch) throws IOException {
        LaunchTask.parseFrom(LaunchTask.newBuilder().setContainerId(WARM_UP_ID).setRootfsTag(WARM_UP_ID)
                .setConfig(ContainerConfig.newBuilder().setImage(ImageReference.newBuilder().setRepository(WARM_UP_ID)))
                .build().toByteString());
        Trees.createDirectories(scratch);
        Mounts.mount(scratch.toString(), scratch, null, Mounts.MS_BIND, null);
        Mounts.unmount(scratch, Mounts.MNT_DETACH);
    }

    void update(String containerId, Resources resources) {
        requireLaunched(containerId);
        containerizer.update(containerId, resources);
    }

    /**
     * The task's statistics; none once it has ended (the host may ask before its exit reached it, and a pod's
     * member ends while its guest runs on).
     */
    ResourceStatistics usage(String containerId) {
        requireLaunched(containerId);
        try {
            return containerizer.usage(containerId);
        } catch (VesselException e) {
            if (containerizer.status(containerId).getState() == ContainerState.TERMINATED) {
                return ResourceStatistics.getDefaultInstance();
            }
            throw e;
        }
    }

    /** Destroys every task (the agent is going away). */
    void destroyAll() throws IOException, InterruptedException {
        for (String id : List.copyOf(tasks.keySet())) {
            destroy(id);
        }
    }

    /** Signal, update, usage, stdio and execs are for tasks whose launch succeeded. */
    private Task requireLaunched(String containerId) {
        requireId(containerId);
        Task task = tasks.get(containerId);
        if (task == null || task.events == null) {
            throw notFound(containerId);
        }
        return task;
    }

    private static VesselException notFound(String containerId) {
        return VesselException.notFound("container_id", "no task '" + containerId + "' in this guest");
    }

    private static void requireId(String containerId) {
        if (containerId.isEmpty()) {
            throw VesselException.invalid("container_id", "must not be empty");
        }
    }

    /**
     * Unmounts the task's volumes, then its root share. The unmount is lazy and the host destroys the
     * VM right after: what the task wrote to a disk is flushed first.
     */
    private void releaseShare(Task task, boolean mounted) throws IOException {
        if (task.writesToADisk) {
            LibC.sync();
        }
        volumes.release(task.volumesDir);
        if (mounted) {
            share.unmount(task.shareDir);
        }
        Files.deleteIfExists(task.shareDir);
    }
}
