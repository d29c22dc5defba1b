package dev.vessel.core.containerizer;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.fault.FaultPoints;
import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.lifecycle.RestartRules;
import dev.vessel.core.lifecycle.StopRules;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerRecord;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.ExecStatus;
import dev.vessel.core.model.FetchUri;
import dev.vessel.core.model.FetchedUri;
import dev.vessel.core.model.GpuAllocation;
import dev.vessel.core.model.HealthStatus;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.RootfsLayers;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ContainerEventListener;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.core.spi.ExecPlan;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.spi.Fetcher;
import dev.vessel.core.spi.TaskSandbox;
import dev.vessel.core.spi.ImageLayers;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.spi.ProvisionedRootfs;
import dev.vessel.core.spi.Provisioner;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import dev.vessel.core.userns.UserNamespaceMode;
import dev.vessel.core.validation.ConfigValidator;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The one containerizer: validation, provisioning, the isolator chain and a launcher picked by the
 * container's isolation class, each step checkpointed so that {@link #recover()} can rebuild
 * everything after a crash. A launch that fails at any step undoes the steps before it.
 */
public final class UnifiedContainerizer implements Containerizer {
    private static final System.Logger LOG = System.getLogger(UnifiedContainerizer.class.getName());
    private static final int SIGKILL = 9;
    /** How long a health check's run is given to report its end before its directory goes. */
    private static final long EXEC_END_WAIT_MS = 2000;

    private final RuntimePaths paths;
    private final ConfigValidator validator;
    private final Map<Isolation, Launcher> launchers;
    private final Map<String, Launcher> launchersByName;
    private final IsolatorChains chains;
    private final Optional<Provisioner> provisioner;
    private final Map<String, Fetcher> fetchers;
    private final ContainerReaper reaper;
    private final RestartScheduler restarts;
    private final HealthChecks health;
    private final LifecycleEvents events;
    private final UserNamespaceMode userNamespaceDefault;
    private final Optional<GpuAllocator> gpus;
    /** What the node's GPU isolators hand GPUs out for: process containers' devices, VMs' VFIO groups. */
    private final Set<GpuAllocation.Use> gpuUses;
    private final Map<String, Container> containers = new ConcurrentHashMap<>();
    private volatile boolean recovered;
    /** False for a containerizer that never recovers, whose records live in memory only ({@link Builder#recordsInMemory}). */
    private final boolean recordsOnDisk;

    private UnifiedContainerizer(Builder b) {
        this.paths = b.paths;
        this.validator = b.validator;
        this.launchers = new EnumMap<>(Isolation.class);
        this.launchersByName = new HashMap<>();
        for (Launcher launcher : b.launchers) {
            if (launchers.putIfAbsent(launcher.isolation(), launcher) != null) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, "launchers",
                        "two launchers serve isolation " + launcher.isolation());
            }
            launchersByName.put(launcher.name(), launcher);
        }
        this.chains = new IsolatorChains(b.isolators, b.prepareInOrder);
        this.recordsOnDisk = !b.recordsInMemory;
        this.provisioner = Optional.ofNullable(b.provisioner);
        this.gpus = Optional.ofNullable(b.gpus);
        this.gpuUses = Set.copyOf(b.gpuUses);
        this.userNamespaceDefault = Objects.requireNonNull(b.userNamespaceDefault, "userNamespaceDefault");
        this.fetchers = new HashMap<>();
        for (Fetcher fetcher : b.fetchers) {
            fetcher.schemes().forEach(s -> fetchers.put(s.toLowerCase(Locale.ROOT), fetcher));
        }
        this.events = new LifecycleEvents(b.events);
        this.restarts = new RestartScheduler(this::restartByPolicy);
        this.health = new HealthChecks(this::runHealthCheck, new HealthChecks.Reaction() {
            @Override
            public void changed(String containerId, String status) {
                Container c = containers.get(containerId);
                if (c != null) {
                    events.emit(c, "health_status", Map.of("health_status", status));
                }
            }

            @Override
            public void unhealthy(String containerId, String onFailure) {
                actOnUnhealthy(containerId, onFailure);
            }
        });
        this.reaper = new ContainerReaper(chains, provisioner, this::ended);
    }

    public static Builder builder(RuntimePaths paths, ConfigValidator validator) {
        return new Builder(paths, validator);
    }

    /** Wiring of a containerizer; the node (or a test) plugs in the concrete components. */
    public static final class Builder {
        private final RuntimePaths paths;
        private final ConfigValidator validator;
        private final List<Launcher> launchers = new ArrayList<>();
        private final List<Isolator> isolators = new ArrayList<>();
        private final List<Fetcher> fetchers = new ArrayList<>();
        private Provisioner provisioner;
        private GpuAllocator gpus;
        private Set<GpuAllocation.Use> gpuUses = Set.of();
        private UserNamespaceMode userNamespaceDefault = UserNamespaceMode.HOST;
        private boolean prepareInOrder;
        private boolean recordsInMemory;
        private ContainerEventListener events = ContainerEventListener.NONE;

        private Builder(RuntimePaths paths, ConfigValidator validator) {
            this.paths = paths;
            this.validator = validator;
        }

        public Builder launcher(Launcher launcher) {
            launchers.add(launcher);
            return this;
        }

        public Builder isolator(Isolator isolator) {
            isolators.add(isolator);
            return this;
        }

        public Builder isolators(List<? extends Isolator> all) {
            isolators.addAll(all);
            return this;
        }

        /**
         * The isolators prepare one after another on the launching thread (a guest's node): see
         * {@link dev.vessel.core.isolation.IsolatorChain#inOrder}.
         */
        public Builder prepareInOrder() {
            this.prepareInOrder = true;
            return this;
        }

        /**
         * Container records are kept in memory, not written at each state change: for a containerizer whose
         * containers do not outlive its process (a guest's: its agent's end powers the VM off), which has nothing
         * to recover them for. The launchers' and isolators' checkpoints are written as ever (an exec reads the
         * launcher's). Each record written was a file written and renamed on the launch path, interpreted under TCG.
         */
        public Builder recordsInMemory() {
            this.recordsInMemory = true;
            return this;
        }

        public Builder provisioner(Provisioner provisioner) {
            this.provisioner = provisioner;
            return this;
        }

        /**
         * The node's GPUs, which isolators hand out for {@code uses} (gpu/nvidia: a process container's
         * devices; vm/gpu: a VM's IOMMU groups): a launch asking for GPUs is checked against them before
         * anything is made. A launch whose isolation class gets none is refused.
         */
        public Builder gpus(GpuAllocator gpus, Set<GpuAllocation.Use> uses) {
            this.gpus = gpus;
            this.gpuUses = uses;
            return this;
        }

        /** The user namespace of a process container whose config names none (vesseld --userns-default). */
        public Builder userNamespaceDefault(UserNamespaceMode mode) {
            this.userNamespaceDefault = mode;
            return this;
        }

        /** Hears each lifecycle event (create, start, pause, unpause, kill, stop, oom, died, remove) once. */
        public Builder events(ContainerEventListener listener) {
            this.events = Objects.requireNonNull(listener, "listener");
            return this;
        }

        public Builder fetcher(Fetcher fetcher) {
            fetchers.add(fetcher);
            return this;
        }

        /** Refuses a broken isolator graph or two launchers for one isolation class. */
        public UnifiedContainerizer build() {
            return new UnifiedContainerizer(this);
        }
    }

    /**
     * {@code c} has just become TERMINATED: its restart policy's turn, and a pod's members end with it (their
     * namespaces were its task's), off the caller's thread, which holds the pod's lock.
     */
    private void ended(Container c) {
        health.ended(c.id);
        events.ended(c, c.record.getStatus().getTermination());
        restarts.ended(c);
        if (c.record.getConfig().getPod()) {
            endMembers(c);
        }
    }

    private void endMembers(Container pod) {
        List<Container> running = childrenOf(pod).stream()
                .filter(m -> m.snapshot().getStatus().getState() != ContainerState.TERMINATED).toList();
        for (Container member : running) {
            Thread.ofVirtual().name("pod-member-" + member.id).start(() -> {
                try {
                    destroy(member.id);
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "member ''{0}'' of ended pod ''{1}'' could not be destroyed: {2}",
                            member.id, pod.id, e.getMessage());
                }
            });
        }
    }

    // ---------------------------------------------------------------------------------------------
    // launch

    @Override
    public ContainerStatus launch(ContainerConfig config) {
        return launch(config, true);
    }

    @Override
    public ContainerStatus create(ContainerConfig config) {
        return launch(config, false);
    }

    /** With {@code start} false the launch stops at CREATED: the task isolated, not released. */
    private ContainerStatus launch(ContainerConfig config, boolean start) {
        requireRecovered();
        validator.validate(config);
        config = withUserNamespace(config);
        Launcher launcher = launchers.get(config.getIsolation());
        if (launcher == null) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "isolation",
                    "this node has no launcher for isolation " + config.getIsolation());
        }
        List<String> lineage = lineageOf(config);
        checkNodeCanServe(config);

        Container c = new Container(paths, lineage, recordsOnDisk, ContainerRecord.newBuilder()
                .setConfig(config)
                .setLauncher(launcher.name())
                .setStatus(ContainerStatus.newBuilder()
                        .setId(config.getId())
                        .setIsolation(config.getIsolation())
                        .setParentId(config.getParentId())
                        .setPod(config.getPod())
                        .setState(ContainerState.PROVISIONING)
                        .setCreatedAt(Timestamps.now())));
        c.launcher = launcher;
        // Locked and marked as launching before anyone can find it: a destroy can always cancel it.
        c.lock.lock();
        c.launchStarted();
        if (containers.putIfAbsent(c.id, c) != null) {
            c.launchEnded();
            c.lock.unlock();
            throw new VesselException(ErrorCode.ALREADY_EXISTS, "id", "container '" + c.id + "' already exists");
        }
        events.emit(c, "create");
        return runLocked(c, start, this::undoLaunch);
    }

    /**
     * Runs the launch steps of {@code c}, which the caller locked and marked as launching, and unlocks it
     * (up to CREATED unless {@code start}); a failed launch is undone by {@code undo} (uninterrupted) and its
     * failure rethrown.
     */
    private ContainerStatus runLocked(Container c, boolean start, BiConsumer<Container, RuntimeException> undo) {
        try {
            try {
                runLaunchSteps(c, start);
                return c.record.getStatus();
            } catch (RuntimeException failure) {
                RuntimeException reported = c.cancelled() ? new VesselException(ErrorCode.FAILED_PRECONDITION, c.id,
                        "container '" + c.id + "' was destroyed during its launch", failure) : failure;
                c.launchEnded(); // the undo runs uninterrupted
                undo.accept(c, reported);
                throw reported;
            }
        } finally {
            c.launchEnded();
            c.lock.unlock();
        }
    }

    /** Between launch steps: a destroy asked the launch to stop. */
    private static void checkNotCancelled(Container c) {
        if (c.cancelled()) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, c.id,
                    "container '" + c.id + "' was destroyed during its launch");
        }
    }

    /**
     * The user namespace written into a process container's config that names none (private when it gives
     * id maps, else the node's default), so the record (and every isolator, after a restart too) sees the
     * mode the container got. A VM task,
     * a pod and a nested container keep none: their boundary is the VM, or their pod's.
     */
    private ContainerConfig withUserNamespace(ContainerConfig config) {
        if (!config.getUserns().isEmpty() || config.getIsolation() != Isolation.PROCESS
                || !config.getParentId().isEmpty() || config.getPod()) {
            return config;
        }
        UserNamespaceMode mode = config.getUidMapCount() > 0 ? UserNamespaceMode.PRIVATE : userNamespaceDefault;
        return config.toBuilder().setUserns(mode.configName()).build();
    }

    private List<String> lineageOf(ContainerConfig config) {
        if (config.getParentId().isEmpty()) {
            return List.of(config.getId());
        }
        Container parent = containers.get(config.getParentId());
        if (parent == null) {
            throw VesselException.notFound("parent_id", "container " + Quoted.of(config.getParentId()) + " does not exist");
        }
        ContainerConfig pod = parent.record.getConfig();
        if (!pod.getPod()) {
            throw VesselException.invalid("parent_id", "container '" + parent.id + "' is not a pod: only a pod's"
                    + " members nest");
        }
        if (pod.getIsolation() != config.getIsolation()) {
            throw VesselException.invalid("isolation", "pod '" + parent.id + "' runs its members with isolation "
                    + pod.getIsolation() + ", not " + config.getIsolation());
        }
        if (parent.state() != ContainerState.RUNNING) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "parent_id",
                    "pod '" + parent.id + "' is " + parent.state() + ", not RUNNING");
        }
        List<String> lineage = new ArrayList<>(parent.lineage);
        lineage.add(config.getId());
        return lineage;
    }

    /** Checks against this node's components and files, still before anything is created. */
    private void checkNodeCanServe(ContainerConfig config) {
        if (config.hasImage() && provisioner.isEmpty()) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "image", "this node has no image provisioner");
        }
        if (config.getRootCase() == ContainerConfig.RootCase.HOST_ROOTFS
                && !Files.isDirectory(Path.of(config.getHostRootfs()))) {
            throw VesselException.invalid("host_rootfs", "'" + config.getHostRootfs() + "' is not a directory");
        }
        if (GpuAllocator.asksForGpus(config.getResources())) {
            String field = config.getResources().getGpuAddressesCount() > 0 ? GpuAllocator.ADDRESS_FIELD
                    : GpuAllocator.COUNT_FIELD;
            boolean vm = config.getIsolation() == Isolation.VM;
            GpuAllocation.Use use = vm ? GpuAllocation.Use.VFIO : GpuAllocation.Use.DEVICES;
            if (gpus.isEmpty() || !gpuUses.contains(use)) {
                throw new VesselException(ErrorCode.UNAVAILABLE, field, "this node gives no GPUs to "
                        + (vm ? "VMs (its isolation has no vm/gpu)" : "process containers (its isolation has no gpu/nvidia)"));
            }
            gpus.get().check(config.getResources(), use);
        }
        for (int i = 0; i < config.getUrisCount(); i++) {
            String scheme = URI.create(config.getUris(i).getUri()).getScheme().toLowerCase(Locale.ROOT);
            if (!fetchers.containsKey(scheme)) {
                throw new VesselException(ErrorCode.UNAVAILABLE, "uris[" + i + "].uri",
                        "this node has no fetcher for scheme '" + scheme + "'");
            }
        }
    }

    /**
     * provisioning → preparing → isolating → running. Only the states recovery needs are written
     * (each checkpoint is a file written and renamed on the launch path): PREPARING before isolators allocate
     * anything, RUNNING once the task runs. A crash before PREPARING leaves a directory without a
     * record (removed at recovery) and a rootfs the provisioner's recovery removes; a crash while
     * ISOLATING is recovered through the launcher, which checkpointed the task inside fork. Without
     * {@code start} the steps end at CREATED, checkpointed, the task watched but not released.
     */
    private void runLaunchSteps(Container c, boolean start) {
        ContainerConfig config = c.record.getConfig();
        Directories.create(c.dir);

        Path rootfs = null;
        Optional<RootfsLayers> layers = Optional.empty();
        Optional<ImageLayers> imageLayers = Optional.empty();
        if (config.hasImage()) {
            // an idmapped rootfs: an overlay is left for the launcher to mount from idmapped layers
            boolean idmapped = UserNamespaceMode.byName(config.getUserns()).filter(UserNamespaceMode::own).isPresent();
            ProvisionedRootfs provisioned = ComponentStep.run("provisioner",
                    "provision image " + config.getImage().getRepository(),
                    () -> idmapped ? provisioner.orElseThrow().provisionUnmounted(c.id, config.getImage())
                            : provisioner.orElseThrow().provision(c.id, config.getImage()));
            rootfs = provisioned.rootfs();
            layers = provisioned.layers();
            imageLayers = provisioned.imageLayers();
            c.record.setConfig(ImageDefaultsApplier.apply(config, provisioned.defaults()));
            FaultPoints.reach(FaultPoints.AFTER_PROVISION, c.id);
            checkNotCancelled(c);
        } else if (config.getRootCase() == ContainerConfig.RootCase.HOST_ROOTFS) {
            rootfs = Path.of(config.getHostRootfs());
        }
        if (rootfs != null) {
            c.record.setRootfs(rootfs.toString());
        }
        Path sandbox = paths.sandboxDir(c.dir);
        Directories.create(sandbox);
        if (TaskSandbox.applies(config)) {
            Directories.openToTasks(sandbox); // a task of any user reads what was fetched, whatever the daemon's umask
        }
        c.record.setConfig(TaskSandbox.withDefaults(c.record.getConfig(), sandbox));
        c.record.getStatusBuilder().clearFetched();
        for (FetchUri uri : config.getUrisList()) {
            Fetcher fetcher = fetchers.get(URI.create(uri.getUri()).getScheme().toLowerCase(Locale.ROOT));
            Fetcher.Fetched fetched = ComponentStep.run("fetcher", "fetch " + uri.getUri(), () -> fetcher.fetch(uri, sandbox));
            c.record.getStatusBuilder().addFetched(FetchedUri.newBuilder().setUri(uri.getUri())
                    .setPath(TaskSandbox.pathInTask(config, sandbox, fetched.path())).setDigest(fetched.digest())
                    .setSizeBytes(fetched.sizeBytes()).setFromCache(fetched.fromCache()));
            checkNotCancelled(c);
        }
        c.moveTo(ContainerState.PREPARING);

        Map<Key<?>, Object> seed = new HashMap<>();
        seed.put(ContainerKeys.SANDBOX, sandbox);
        if (rootfs != null) {
            seed.put(ContainerKeys.ROOTFS, rootfs);
        }
        imageLayers.ifPresent(l -> seed.put(ContainerKeys.IMAGE_LAYERS, l));
        podTask(c).ifPresent(pid -> seed.put(ContainerKeys.POD_TASK, pid));
        LaunchInfo launchInfo = chains.of(c).prepare(ComponentContext.perIsolator(c), seed);
        if (launchInfo.getRootfs().isEmpty() && rootfs != null) {
            launchInfo = launchInfo.toBuilder().setRootfs(rootfs.toString()).build();
        }
        if (layers.isPresent()) {
            launchInfo = launchInfo.toBuilder().setRootfsLayers(layers.get()).build();
        }
        checkNotCancelled(c);
        c.enter(ContainerState.ISOLATING);

        LaunchPlan plan = new LaunchPlan(ComponentContext.ofLauncher(c), launchInfo);
        c.task = ComponentStep.run("launcher '" + c.launcher.name() + "'", "start the task",
                () -> c.launcher.fork(plan));
        c.record.getStatusBuilder().setPid(c.task.pid());
        chains.of(c).isolate(ComponentContext.perIsolator(c), c.task.pid());
        if (!start) {
            c.moveTo(ContainerState.CREATED);
            reaper.watch(c); // a created task may still be killed, or die with its monitor
            return;
        }
        releaseTask(c);
        reaper.watch(c);
    }

    private void releaseTask(Container c) {
        ComponentStep.run("launcher '" + c.launcher.name() + "'", "release the task", () -> {
            c.task.release();
            return null;
        });
        c.record.getStatusBuilder().setStartedAt(Timestamps.now());
        c.moveTo(ContainerState.RUNNING);
        events.emit(c, "start");
        health.started(c.id, c.record.getConfig());
    }

    /** A member's pod's task, which runs (checked with the pod's lock held, and the pod waits for its members). */
    private Optional<Long> podTask(Container c) {
        if (c.parentId().isEmpty()) {
            return Optional.empty();
        }
        Container pod = get(c.parentId());
        pod.lock.lock();
        try {
            requireState(pod, ContainerState.RUNNING);
            return Optional.of(pod.record.getStatus().getPid());
        } finally {
            pod.lock.unlock();
        }
    }

    /**
     * A start of an ended container: the same id, directory and config, run again (podman's start), its
     * logs appended to. A RUNNING container is left as it is. {@code ended}: the container a restart
     * policy restarts, which is then done only if it is still the one under its id, ended and due a restart
     * (a user may have started, stopped or removed it meanwhile); null for a user's start.
     */
    private ContainerStatus relaunch(String containerId, Container ended) {
        requireRecovered();
        Container previous = lockCurrent(containerId);
        Container c;
        try {
            if (ended != null && (previous != ended || previous.state() != ContainerState.TERMINATED
                    || !dueRestart(previous.record))) {
                return previous.record.getStatus();
            }
            if (ended == null && (previous.state() == ContainerState.RUNNING
                    || previous.state() == ContainerState.PAUSED)) {
                return previous.record.getStatus();
            }
            requireState(previous, ContainerState.TERMINATED);
            ContainerConfig config = previous.record.getConfig();
            Launcher launcher = launchers.get(config.getIsolation());
            if (launcher == null) {
                throw new VesselException(ErrorCode.UNAVAILABLE, "isolation",
                        "this node has no launcher for isolation " + config.getIsolation());
            }
            lineageOf(config); // a nested container's parent must run
            checkNodeCanServe(config);
            for (Path record : paths.runRecords(previous.dir)) {
                Directories.deleteTree(record);
            }
            ContainerStatus was = previous.record.getStatus();
            c = new Container(paths, previous.lineage, recordsOnDisk, ContainerRecord.newBuilder()
                    .setConfig(config)
                    .setLauncher(launcher.name())
                    .setRelaunched(true)
                    .setStatus(ContainerStatus.newBuilder()
                            .setId(was.getId())
                            .setIsolation(was.getIsolation())
                            .setParentId(was.getParentId())
                            .setPod(was.getPod())
                            .setState(ContainerState.PROVISIONING)
                            .setCreatedAt(was.getCreatedAt())
                            .setRestartCount(ended == null ? 0 : was.getRestartCount() + 1)));
            c.launcher = launcher;
            c.lock.lock();
            c.launchStarted();
            containers.put(containerId, c);
        } finally {
            previous.lock.unlock();
        }
        return runLocked(c, true, this::relaunchFailed);
    }

    private static boolean dueRestart(ContainerRecord.Builder record) {
        return RestartRules.restarts(record.getConfig().getRestart(), record.getStatus().getTermination(),
                record.getKilled(), record.getStatus().getRestartCount());
    }

    /** The restart policy's start of {@code ended}; a failure is recorded as its end (LAUNCH_FAILED), and logged. */
    private void restartByPolicy(Container ended) {
        try {
            relaunch(ended.id, ended);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "the restart of container ''{0}'' failed: {1}", ended.id, e.getMessage());
        }
    }

    /**
     * Undoes whatever a start's launch steps did, and keeps the container, ended again with its logs: the
     * launch failed, or a destroy (then asked for, so no restart follows) cancelled it.
     */
    private void relaunchFailed(Container c, RuntimeException failure) {
        if (c.task != null) {
            try {
                c.task.destroy();
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
        if (c.cancelled()) {
            c.record.setKilled(true);
        }
        reaper.finish(c, Termination.newBuilder()
                .setReason(c.cancelled() ? TerminationReason.KILLED : TerminationReason.LAUNCH_FAILED)
                .setMessage(String.valueOf(failure.getMessage())).build());
    }

    /** Undoes whatever the launch steps did, then forgets the container; the caller gets the error. */
    private void undoLaunch(Container c, RuntimeException failure) {
        if (c.task != null) {
            try {
                c.task.destroy();
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
        try {
            reaper.release(c);
            Directories.deleteTree(c.dir);
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
            LOG.log(Level.WARNING, "cleanup after the failed launch of ''{0}'' failed too: {1}", c.id, e.getMessage());
        }
        containers.remove(c.id, c);
        events.emit(c, "remove", Map.of("reason", "launch failed")); // its create was told
    }

    // ---------------------------------------------------------------------------------------------
    // operations on existing containers

    @Override
    public CompletableFuture<Termination> wait(String containerId) {
        return get(containerId).terminated.copy();
    }

    /**
     * The task's end as soon as it is known and told apart (exit, kill, limitation), before the cleanup of its
     * isolators and rootfs that {@link #wait} waits for too: for a caller that discards the whole node next, as a
     * VM's guest agent does (the host destroys the VM once it hears of the end).
     */
    public CompletableFuture<Termination> ended(String containerId) {
        return get(containerId).ended.copy();
    }

    @Override
    public void kill(String containerId, int signal) {
        if (signal < 1 || signal > 64) {
            throw VesselException.invalid("signal", signal + " is not a signal number (1 to 64)");
        }
        Container c = lockCurrent(containerId);
        try {
            if (c.state() != ContainerState.CREATED && c.state() != ContainerState.PAUSED) {
                requireState(c, ContainerState.RUNNING);
            }
            c.record.setKilled(true);
            c.checkpoint();
            LaunchedTask task = c.task;
            ComponentStep.run("launcher '" + c.launcher.name() + "'", "send signal " + signal, () -> {
                task.signal(signal);
                return null;
            });
            if (signal == SIGKILL && c.state() == ContainerState.PAUSED) {
                thaw(c); // as runc: a frozen process dies of SIGKILL only once thawed (cgroup v1)
            }
            events.emit(c, "kill", Map.of("signal", Integer.toString(signal)));
        } finally {
            c.lock.unlock();
        }
    }

    @Override
    public Termination destroy(String containerId) {
        Container c = get(containerId);
        for (Container child : childrenOf(c)) {
            destroy(child.id); // nested containers go first, as their parent holds their isolation
        }
        // A launch in progress holds the lock, maybe in a slow fetch or a VM boot: stop it rather than wait.
        boolean cancelled = c.cancelLaunch();
        c.lock.lock();
        try {
            if (containers.get(c.id) != c) {
                if (cancelled) {
                    // the launch stopped and undid everything
                    return Termination.newBuilder().setReason(TerminationReason.KILLED)
                            .setMessage("destroyed during its launch").build();
                }
                // its launch failed while we waited for the lock, and undid everything
                throw VesselException.notFound(containerId, "no container " + Quoted.of(containerId) + " on this node");
            }
            switch (c.state()) {
                case TERMINATED -> {
                    return c.record.getStatus().getTermination();
                }
                case DESTROYING -> {
                    if (c.record.getStatus().hasTermination()) {
                        reaper.finish(c, c.record.getStatus().getTermination()); // retry a cleanup that failed
                    }
                }
                default -> {
                    c.record.setKilled(true);
                    c.checkpoint();
                    LaunchedTask task = c.task;
                    if (c.state() == ContainerState.PAUSED) {
                        // killed first, then thawed, so that nothing of it runs again; the destroy then waits for its end
                        ComponentStep.run("launcher '" + c.launcher.name() + "'", "send signal " + SIGKILL, () -> {
                            task.signal(SIGKILL);
                            return null;
                        });
                        thaw(c);
                    }
                    ComponentStep.run("launcher '" + c.launcher.name() + "'", "destroy the task", () -> {
                        task.destroy();
                        return null;
                    });
                    events.emit(c, "kill", Map.of("signal", Integer.toString(SIGKILL)));
                }
            }
        } finally {
            c.lock.unlock();
        }
        return c.terminated.join();
    }

    /**
     * A CREATED container's task released, or an ended one run again. A failed release (the program could
     * not be executed) is the caller's error; the task has ended then, and the exit the reaper is watching
     * for ends the container.
     */
    @Override
    public ContainerStatus start(String containerId) {
        Container c = get(containerId);
        c.lock.lock();
        try {
            if (c.state() == ContainerState.CREATED) {
                releaseTask(c);
                return c.record.getStatus();
            }
        } finally {
            c.lock.unlock();
        }
        return relaunch(containerId, null);
    }

    /**
     * The config's stop signal, marked as asked for (so no restart follows), then, if the container has not
     * ended within {@code timeout} (the config's, or 10 s), a destroy. An ended container is left as it
     * is, but marked too: a restart its policy had scheduled is off.
     */
    @Override
    public Termination stop(String containerId, Optional<Duration> timeout) {
        Duration grace = timeout.orElseGet(() -> StopRules.timeout(config(containerId)));
        long deadline = System.nanoTime() + grace.toNanos();
        try {
            Optional<Container> locked = lockCurrent(containerId, grace); // a launch may hold it that long
            if (locked.isPresent()) {
                Container c = locked.get();
                boolean signalled;
                try {
                    c.record.setKilled(true);
                    c.checkpoint();
                    if (c.state() == ContainerState.TERMINATED) {
                        return c.record.getStatus().getTermination();
                    }
                    // a paused one gets it when it is thawed: by the destroy that follows the timeout
                    signalled = c.state() == ContainerState.RUNNING || c.state() == ContainerState.PAUSED;
                    if (signalled || c.state() == ContainerState.CREATED) {
                        events.emit(c, "stop");
                    }
                    if (signalled) {
                        int signal = StopRules.signal(c.record.getConfig());
                        LaunchedTask task = c.task;
                        ComponentStep.run("launcher '" + c.launcher.name() + "'", "send stop signal " + signal, () -> {
                            task.signal(signal);
                            return null;
                        });
                    }
                } finally {
                    c.lock.unlock();
                }
                if (signalled) {
                    return c.terminated.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                }
            }
        } catch (TimeoutException e) {
            LOG.log(Level.INFO, "container ''{0}'' outlived its stop timeout ({1} s): destroying it", containerId,
                    grace.toSeconds());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw VesselException.internal(containerId, "interrupted while stopping the container", e);
        } catch (ExecutionException e) {
            throw VesselException.internal(containerId, "stop: " + e.getCause().getMessage(), e.getCause());
        }
        return destroy(containerId);
    }

    @Override
    public void update(String containerId, Resources resources) {
        Container c = get(containerId);
        validator.validateUpdate(c.record.getConfig(), resources);
        c.lock.lock();
        try {
            if (c.state() != ContainerState.PAUSED) {
                requireState(c, ContainerState.RUNNING);
            }
            chains.of(c).update(ComponentContext.perIsolator(c), resources);
            c.record.getConfigBuilder().setResources(resources);
            c.checkpoint();
        } finally {
            c.lock.unlock();
        }
    }

    /**
     * PAUSED is checkpointed before the freeze, so that a crash between the two leaves a record that recovery
     * makes true (it freezes a PAUSED container again). A VM task is refused: its processes run in the guest,
     * whose agent protocol has no freeze, and freezing QEMU from the host would stop the guest's kernel too.
     */
    @Override
    public ContainerStatus pause(String containerId) {
        Container c = lockCurrent(containerId);
        try {
            ContainerConfig config = c.record.getConfig();
            if (config.getIsolation() == Isolation.VM) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, "isolation", "container " + Quoted.of(c.id)
                        + " is a VM task, which cannot be paused: its processes run in the guest, whose agent has no"
                        + " freeze");
            }
            if (config.getPod()) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, "pod", "pod " + Quoted.of(c.id)
                        + " cannot be paused as a whole: pause its members");
            }
            requireState(c, ContainerState.RUNNING);
            c.moveTo(ContainerState.PAUSED);
            boolean frozen;
            try {
                frozen = chains.of(c).freeze(ComponentContext.perIsolator(c), true);
            } catch (RuntimeException e) {
                try {
                    thaw(c);
                } catch (RuntimeException thawFailed) {
                    e.addSuppressed(thawFailed);
                }
                c.moveTo(ContainerState.RUNNING);
                throw e;
            }
            if (!frozen) {
                c.moveTo(ContainerState.RUNNING);
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, c.id, "container " + Quoted.of(c.id)
                        + " cannot be paused: this node has no cgroup freezer");
            }
            events.emit(c, "pause");
            return c.record.getStatus();
        } finally {
            c.lock.unlock();
        }
    }

    /** Thawed before RUNNING is checkpointed: a crash between leaves it PAUSED, and recovery freezes it again. */
    @Override
    public ContainerStatus resume(String containerId) {
        Container c = lockCurrent(containerId);
        try {
            requireState(c, ContainerState.PAUSED);
            thaw(c);
            c.moveTo(ContainerState.RUNNING);
            events.emit(c, "unpause");
            return c.record.getStatus();
        } finally {
            c.lock.unlock();
        }
    }

    private void thaw(Container c) {
        chains.of(c).freeze(ComponentContext.perIsolator(c), false);
    }

    /** From its cgroups; a VM task's only host process is its VM's. */
    @Override
    public List<Long> processes(String containerId) {
        Container c = lockCurrent(containerId);
        try {
            if (c.state() != ContainerState.CREATED && c.state() != ContainerState.PAUSED) {
                requireState(c, ContainerState.RUNNING);
            }
            List<Long> pids = chains.of(c).processes(ComponentContext.perIsolator(c));
            return pids.isEmpty() ? List.of(c.record.getStatus().getPid()) : pids;
        } finally {
            c.lock.unlock();
        }
    }

    /**
     * The record's status; while the task runs, completed with what isolators report (its IPs, its GPUs). Never
     * waits: while a launch, a destroy or a cleanup holds the container, the last published status.
     */
    @Override
    public ContainerStatus status(String containerId) {
        Container c = get(containerId);
        if (!c.lock.tryLock()) {
            return withExecsAndHealth(c, c.snapshot().getStatus());
        }
        try {
            if (c.state() != ContainerState.RUNNING && c.state() != ContainerState.PAUSED) {
                return withExecsAndHealth(c, c.record.getStatus());
            }
            ContainerStatus reported = chains.of(c).status(ComponentContext.perIsolator(c));
            return withExecsAndHealth(c, c.record.getStatus().toBuilder()
                    .addAllIpAddresses(reported.getIpAddressesList()).addAllGpus(reported.getGpusList()).build());
        } finally {
            c.lock.unlock();
        }
    }

    /** With the execs of its run and its health check's findings (in memory, read without waiting for a run). */
    private ContainerStatus withExecsAndHealth(Container c, ContainerStatus status) {
        List<ExecStatus> execs = c.execs.statuses();
        Optional<HealthStatus> found = health.status(c.id);
        if (execs.isEmpty() && found.isEmpty()) {
            return status;
        }
        ContainerStatus.Builder b = status.toBuilder().addAllExecs(execs);
        found.ifPresent(b::setHealth);
        return b.build();
    }

    /** Runs the container's health check now (podman's healthcheck run); refused when it has none running. */
    @Override
    public HealthStatus checkHealth(String containerId) {
        Container c = get(containerId);
        ContainerConfig config = c.snapshot().getConfig();
        if (!config.hasHealthCheck() || !HealthChecks.enabled(config.getHealthCheck())) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "health_check", "container " + Quoted.of(c.id)
                    + " has no health check");
        }
        ContainerState state = c.snapshot().getStatus().getState();
        Optional<HealthStatus> found = state == ContainerState.RUNNING ? health.runNow(c.id) : Optional.empty();
        return found.orElseThrow(() -> new VesselException(ErrorCode.FAILED_PRECONDITION, c.id,
                "container " + Quoted.of(c.id) + " is " + state + ", not RUNNING"));
    }

    /**
     * One run of a health check: an exec through the container's launcher that leaves no record (a check is no
     * user's exec: it is neither listed nor kept), its directory removed once it ended. Empty when the container
     * does not run now; a run that cannot start is a failure.
     */
    private Optional<HealthChecks.Outcome> runHealthCheck(String containerId, ExecConfig command, Duration timeout) {
        com.google.protobuf.Timestamp start = Timestamps.now();
        Container c = containers.get(containerId);
        if (c == null) {
            return Optional.empty();
        }
        ExecPlan plan;
        AttachedExec run;
        c.lock.lock();
        try {
            if (c.state() != ContainerState.RUNNING || containers.get(containerId) != c) {
                return Optional.empty();
            }
            plan = c.execs.unrecordedPlan(HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()), command);
            try {
                run = ComponentStep.run("launcher '" + c.launcher.name() + "'", "run the health check",
                        () -> c.launcher.execAttached(ComponentContext.ofLauncher(c), plan));
            } catch (RuntimeException e) {
                Directories.deleteTree(plan.execDir());
                return Optional.of(new HealthChecks.Outcome(start, Timestamps.now(), -1, e.getMessage()));
            }
        } finally {
            c.lock.unlock();
        }
        HealthChecks.Outcome outcome = HealthChecks.collect(run, timeout, start);
        if (outcome.exitCode() == -1 && !run.process().exit().isDone()) {
            try {
                run.process().signal(SIGKILL); // past its timeout: through its launcher, a guest's exec too
            } catch (Exception e) {
                LOG.log(Level.WARNING, "cannot end container ''{0}''s health check past its timeout: {1}",
                        containerId, e.getMessage());
            }
        }
        try {
            run.process().exit().get(EXEC_END_WAIT_MS, TimeUnit.MILLISECONDS); // its monitor is done with the directory
        } catch (ExecutionException | TimeoutException e) {
            // ended without a status, or still ending: its directory goes anyway
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Directories.deleteTree(plan.execDir());
        return Optional.of(outcome);
    }

    /** A health check's on_failure, once its container became unhealthy: kill, stop or restart it. */
    private void actOnUnhealthy(String containerId, String onFailure) {
        LOG.log(Level.INFO, "container ''{0}'' is unhealthy; its health check''s on_failure: {1}", containerId,
                onFailure);
        try {
            switch (onFailure) {
                case "kill" -> kill(containerId, SIGKILL);
                case "stop" -> stop(containerId, Optional.empty());
                case "restart" -> {
                    stop(containerId, Optional.empty());
                    start(containerId);
                }
                default -> LOG.log(Level.WARNING, "unknown on_failure ''{0}'' of container ''{1}''", onFailure,
                        containerId);
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "the on_failure {0} of unhealthy container ''{1}'' failed: {2}", onFailure,
                    containerId, e.getMessage());
        }
    }

    /** Never waits, as {@link #status}. */
    @Override
    public ContainerConfig config(String containerId) {
        return get(containerId).snapshot().getConfig();
    }

    /**
     * The container as its launcher sees it, with the launcher's checkpoint slot: for a caller that runs the
     * launcher's attach and exec itself (a guest's agent: its host keeps the execs' records). Never waits.
     */
    public ContainerContext launcherContext(String containerId) {
        return ComponentContext.ofLauncher(get(containerId));
    }

    /**
     * For the same caller: the plan of an exec it runs through the launcher itself, with its directory (made
     * under the container's) and the launcher's checkpoint slot for it. Never waits.
     */
    public ExecPlan execPlan(String containerId, String execId, ExecConfig config) {
        return get(containerId).execs.unrecordedPlan(execId, config);
    }

    /** Runs {@code read} on the container while holding its lock; refuses when it is busy. */
    private <T> T underLock(String containerId, Function<Container, T> read) {
        Container c = get(containerId);
        if (!c.lock.tryLock()) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, c.id, "container '" + c.id + "' is "
                    + c.snapshot().getStatus().getState() + " and busy (a launch, destroy or cleanup is under way)");
        }
        try {
            return read.apply(c);
        } finally {
            c.lock.unlock();
        }
    }

    @Override
    public List<ContainerStatus> list() {
        return containers.values().stream().map(c -> status(c.id))
                .sorted(Comparator.comparing(ContainerStatus::getId)).toList();
    }

    @Override
    public ResourceStatistics usage(String containerId) {
        return underLock(containerId, c -> {
            if (c.state() != ContainerState.PAUSED) {
                requireState(c, ContainerState.RUNNING);
            }
            return chains.of(c).usage(ComponentContext.perIsolator(c)).toBuilder()
                    .setTimestamp(Timestamps.now()).build();
        });
    }

    @Override
    public void remove(String containerId) {
        Container c = lockCurrent(containerId);
        try {
            if (c.state() == ContainerState.DESTROYING && !c.record.getStatus().getCleanupError().isEmpty()) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, c.id, "container '" + c.id
                        + "' cannot be removed: its cleanup failed (" + c.record.getStatus().getCleanupAttempts()
                        + " attempts, retried in the background): " + c.record.getStatus().getCleanupError());
            }
            requireState(c, ContainerState.TERMINATED);
            for (Container child : childrenOf(c)) {
                requireState(child, ContainerState.TERMINATED);
            }
            Directories.deleteTree(c.dir);
            containers.values().removeIf(other -> other.lineage.contains(c.id));
            events.emit(c, "remove");
        } finally {
            c.lock.unlock();
        }
    }

    /** The container now under {@code containerId}, locked: a start may replace it while we wait for its lock. */
    private Container lockCurrent(String containerId) {
        while (true) {
            Container c = get(containerId);
            c.lock.lock();
            if (containers.get(containerId) == c) {
                return c;
            }
            c.lock.unlock();
        }
    }

    /** As {@link #lockCurrent(String)}, waiting at most {@code wait} for the lock; empty when that was not enough. */
    private Optional<Container> lockCurrent(String containerId, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            Container c = get(containerId);
            if (!c.lock.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                return Optional.empty();
            }
            if (containers.get(containerId) == c) {
                return Optional.of(c);
            }
            c.lock.unlock();
        }
    }

    private Container get(String containerId) {
        Container c = containers.get(containerId);
        if (c == null) {
            throw VesselException.notFound(containerId, "no container " + Quoted.of(containerId) + " on this node");
        }
        return c;
    }

    private List<Container> childrenOf(Container c) {
        return containers.values().stream().filter(o -> o.parentId().equals(c.id)).toList();
    }

    private static void requireState(Container c, ContainerState state) {
        if (c.state() != state) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, c.id,
                    "container '" + c.id + "' is " + c.state() + ", not " + state);
        }
    }

    /** An exec runs in a running container, or in a created one (as runc's does): its task's namespaces exist. */
    private static void requireExecutable(Container c) {
        if (c.state() != ContainerState.RUNNING && c.state() != ContainerState.CREATED) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, c.id,
                    "container '" + c.id + "' is " + c.state() + ", not RUNNING");
        }
    }

    private void requireRecovered() {
        if (!recovered) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, null,
                    "the containerizer must recover its checkpoints before it launches anything");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // stdio and execs

    @Override
    public StdioChannel attach(String containerId) {
        Container c = lockCurrent(containerId);
        try {
            if (c.state() != ContainerState.CREATED) { // attached before its start (run -it), nothing it prints is missed
                requireState(c, ContainerState.RUNNING);
            }
            return ComponentStep.run("launcher '" + c.launcher.name() + "'", "attach to the task",
                    () -> c.launcher.attach(ComponentContext.ofLauncher(c)));
        } finally {
            c.lock.unlock();
        }
    }

    @Override
    public void resize(String containerId, int rows, int columns) {
        checkSize(rows, columns);
        if (!config(containerId).getTty()) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "tty", "container " + Quoted.of(containerId)
                    + " has no terminal (it was made without tty)");
        }
        sendResize(attach(containerId), containerId, rows, columns);
    }

    @Override
    public ExecStatus execCreate(String containerId, ExecConfig config) {
        validator.validateExec(config);
        Container c = lockCurrent(containerId);
        try {
            requireExecutable(c);
            return c.execs.create(config);
        } finally {
            c.lock.unlock();
        }
    }

    @Override
    public StdioChannel execStart(String containerId, String execId) {
        Container c = lockCurrent(containerId);
        try {
            requireExecutable(c);
            return c.execs.start(execId, c.launcher, ComponentContext.ofLauncher(c), true).stdio();
        } finally {
            c.lock.unlock();
        }
    }

    @Override
    public ExecStatus execStartDetached(String containerId, String execId) {
        Container c = lockCurrent(containerId);
        try {
            requireExecutable(c);
            c.execs.start(execId, c.launcher, ComponentContext.ofLauncher(c), false);
            return c.execs.status(execId);
        } finally {
            c.lock.unlock();
        }
    }

    @Override
    public ExecStatus execStatus(String containerId, String execId) {
        return get(containerId).execs.status(execId);
    }

    @Override
    public void execResize(String containerId, String execId, int rows, int columns) {
        checkSize(rows, columns);
        Container c = get(containerId);
        if (!c.execs.status(execId).getConfig().getTty()) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "tty", "exec " + Quoted.of(execId)
                    + " has no terminal (it was made without tty)");
        }
        ExecutedProcess process = c.execs.running(execId);
        sendResize(ComponentStep.run("launcher '" + c.launcher.name() + "'", "attach to exec " + execId,
                process::attach), containerId, rows, columns);
    }

    private static void checkSize(int rows, int columns) {
        if (rows < 1 || rows > 0xFFFF) {
            throw VesselException.invalid("rows", rows + " is not a terminal height (1 to 65535)");
        }
        if (columns < 1 || columns > 0xFFFF) {
            throw VesselException.invalid("columns", columns + " is not a terminal width (1 to 65535)");
        }
    }

    /** A resize out of band: one RESIZE frame on a connection of its own, which then detaches. */
    private static void sendResize(StdioChannel channel, String containerId, int rows, int columns) {
        try (channel) {
            channel.write(StdioFrame.resize(rows, columns));
        } catch (java.io.IOException e) {
            throw VesselException.internal(containerId, "resize: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // recovery

    /**
     * Reads every container record, lets isolators rebuild their state, finds each running task
     * again through its launcher, finishes what a crash interrupted (an unfinished launch is undone,
     * an unfinished destroy completed) and removes directories that hold no record: see
     * {@link ContainerRecovery}.
     */
    @Override
    public synchronized void recover() {
        if (recovered) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, null, "recover() runs once, at start-up");
        }
        new ContainerRecovery(paths, launchersByName, chains, provisioner, reaper).recoverInto(containers);
        recovered = true;
        restarts.open(containers.values()); // those that ended before, or while no daemon ran
        containers.values().stream().filter(c -> c.snapshot().getStatus().getState() == ContainerState.RUNNING
                || c.snapshot().getStatus().getState() == ContainerState.PAUSED)
                .forEach(c -> health.started(c.id, c.snapshot().getConfig())); // from "starting" again
        containers.values().stream().filter(c -> c.record.getConfig().getPod()
                && c.snapshot().getStatus().getState() == ContainerState.TERMINATED).forEach(this::endMembers);
    }
}
