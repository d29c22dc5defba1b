package dev.vessel.core.containerizer;

import com.google.protobuf.Timestamp;
import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.checkpoint.CheckpointFile;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Failures;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.isolation.IsolatorChain;
import dev.vessel.core.isolation.IsolatorGraph;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerRecord;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.FetchUri;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.core.spi.Fetcher;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.spi.ProvisionedRootfs;
import dev.vessel.core.spi.Provisioner;
import dev.vessel.core.validation.ConfigValidator;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The one containerizer: validation, provisioning, the isolator chain and a launcher picked by the
 * container's isolation class, each step checkpointed so that {@link #recover()} can rebuild
 * everything after a crash. A launch that fails at any step undoes the steps before it.
 */
public final class UnifiedContainerizer implements Containerizer {
    private static final System.Logger LOG = System.getLogger(UnifiedContainerizer.class.getName());

    /** Schema of {@link ContainerRecord} checkpoints; bump it with an upgrade when a field changes meaning. */
    static final ProtoCodec<ContainerRecord> RECORD_CODEC = ProtoCodec.of(1, ContainerRecord.parser());

    private static final int SIGKILL = 9;
    private static final long LIMITATION_GRACE_MS = 2000;

    private final RuntimePaths paths;
    private final ConfigValidator validator;
    private final Map<Isolation, Launcher> launchers;
    private final Map<String, Launcher> launchersByName;
    /** Every isolator, for recovery; each isolation class runs the sub-chain of isolators that apply to it. */
    private final IsolatorChain allIsolators;
    private final Map<Isolation, IsolatorChain> chains;
    private final Optional<Provisioner> provisioner;
    private final Map<String, Fetcher> fetchers;
    private final Clock clock;
    private final Map<String, Container> containers = new ConcurrentHashMap<>();
    private volatile boolean recovered;
    /** Set during recovery when the run dir is from an earlier boot: no task it names can still run. */
    private boolean earlierBoot;

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
        Set<Key<?>> seedKeys = Set.of(ContainerKeys.ROOTFS, ContainerKeys.SANDBOX);
        this.allIsolators = new IsolatorChain(IsolatorGraph.build(b.isolators, seedKeys, ContainerKeys.PROVIDER));
        this.chains = new EnumMap<>(Isolation.class);
        for (Isolation isolation : List.of(Isolation.PROCESS, Isolation.VM)) {
            List<Isolator> applying = b.isolators.stream().filter(i -> i.appliesTo(isolation)).toList();
            chains.put(isolation, new IsolatorChain(IsolatorGraph.build(applying, seedKeys, ContainerKeys.PROVIDER)));
        }
        this.provisioner = Optional.ofNullable(b.provisioner);
        this.fetchers = new HashMap<>();
        for (Fetcher fetcher : b.fetchers) {
            fetcher.schemes().forEach(s -> fetchers.put(s.toLowerCase(Locale.ROOT), fetcher));
        }
        this.clock = b.clock;
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
        private Clock clock = Clock.systemUTC();

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

        public Builder provisioner(Provisioner provisioner) {
            this.provisioner = provisioner;
            return this;
        }

        public Builder fetcher(Fetcher fetcher) {
            fetchers.add(fetcher);
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /** Refuses a broken isolator graph or two launchers for one isolation class. */
        public UnifiedContainerizer build() {
            return new UnifiedContainerizer(this);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // launch

    @Override
    public ContainerStatus launch(ContainerConfig config) {
        requireRecovered();
        validator.validate(config);
        Launcher launcher = launchers.get(config.getIsolation());
        if (launcher == null) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "isolation",
                    "this node has no launcher for isolation " + config.getIsolation());
        }
        List<String> lineage = lineageOf(config);
        checkNodeCanServe(config);

        Container c = new Container(config.getId(), lineage, paths.containerDir(lineage), ContainerRecord.newBuilder()
                .setConfig(config)
                .setLauncher(launcher.name())
                .setStatus(ContainerStatus.newBuilder()
                        .setId(config.getId())
                        .setIsolation(config.getIsolation())
                        .setParentId(config.getParentId())
                        .setState(ContainerState.PROVISIONING)
                        .setCreatedAt(now())));
        c.launcher = launcher;
        if (containers.putIfAbsent(c.id, c) != null) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, "id", "container '" + c.id + "' already exists");
        }
        c.lock.lock();
        try {
            runLaunchSteps(c);
            return c.record.getStatus();
        } catch (RuntimeException failure) {
            undoLaunch(c, failure);
            throw failure;
        } finally {
            c.lock.unlock();
        }
    }

    private List<String> lineageOf(ContainerConfig config) {
        if (config.getParentId().isEmpty()) {
            return List.of(config.getId());
        }
        Container parent = containers.get(config.getParentId());
        if (parent == null) {
            throw VesselException.notFound("parent_id", "container '" + config.getParentId() + "' does not exist");
        }
        if (parent.state() != ContainerState.RUNNING) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "parent_id",
                    "container '" + parent.id + "' is " + parent.state() + ", not RUNNING");
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
     * ISOLATING is recovered through the launcher, which checkpointed the task inside fork.
     */
    private void runLaunchSteps(Container c) {
        ContainerConfig config = c.record.getConfig();
        createDirectory(c.dir);

        Path rootfs = null;
        if (config.hasImage()) {
            ProvisionedRootfs provisioned = step("provisioner", "provision image " + config.getImage().getRepository(),
                    () -> provisioner.orElseThrow().provision(c.id, config.getImage()));
            rootfs = provisioned.rootfs();
            c.record.setConfig(ImageDefaultsApplier.apply(config, provisioned.defaults()));
        } else if (config.getRootCase() == ContainerConfig.RootCase.HOST_ROOTFS) {
            rootfs = Path.of(config.getHostRootfs());
        }
        if (rootfs != null) {
            c.record.setRootfs(rootfs.toString());
        }
        Path sandbox = paths.sandboxDir(c.dir);
        createDirectory(sandbox);
        for (FetchUri uri : config.getUrisList()) {
            Fetcher fetcher = fetchers.get(URI.create(uri.getUri()).getScheme().toLowerCase(Locale.ROOT));
            step("fetcher", "fetch " + uri.getUri(), () -> fetcher.fetch(uri, sandbox));
        }
        moveTo(c, ContainerState.PREPARING);

        Map<Key<?>, Object> seed = new HashMap<>();
        seed.put(ContainerKeys.SANDBOX, sandbox);
        if (rootfs != null) {
            seed.put(ContainerKeys.ROOTFS, rootfs);
        }
        LaunchInfo launchInfo = chainOf(c).prepare(isolatorContexts(c), seed);
        if (launchInfo.getRootfs().isEmpty() && rootfs != null) {
            launchInfo = launchInfo.toBuilder().setRootfs(rootfs.toString()).build();
        }
        enter(c, ContainerState.ISOLATING);

        LaunchPlan plan = new LaunchPlan(launcherContext(c), launchInfo);
        c.task = step("launcher '" + c.launcher.name() + "'", "start the task", () -> c.launcher.fork(plan));
        c.record.getStatusBuilder().setPid(c.task.pid());
        chainOf(c).isolate(isolatorContexts(c), c.task.pid());
        step("launcher '" + c.launcher.name() + "'", "release the task", () -> {
            c.task.release();
            return null;
        });
        c.record.getStatusBuilder().setStartedAt(now());
        moveTo(c, ContainerState.RUNNING);
        watch(c);
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
            releaseResources(c);
            deleteTree(c.dir);
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
            LOG.log(Level.WARNING, "cleanup after the failed launch of ''{0}'' failed too: {1}", c.id, e.getMessage());
        }
        containers.remove(c.id, c);
    }

    // ---------------------------------------------------------------------------------------------
    // running and ending

    private void watch(Container c) {
        c.limitation = chainOf(c).watch(isolatorContexts(c));
        c.limitation.thenAccept(limitation -> onLimitation(c, limitation));
        // A fresh thread: exit handling takes the container's lock, which the completer may hold.
        c.task.exit().whenComplete((termination, error) -> Thread.ofVirtual().name("exit-" + c.id)
                .start(() -> onExit(c, termination, error)));
    }

    private void onLimitation(Container c, Limitation limitation) {
        c.lock.lock();
        try {
            if (c.state() != ContainerState.RUNNING || c.record.hasLimitation()) {
                return;
            }
            c.record.setLimitation(limitation);
            checkpoint(c);
            c.task.destroy();
        } catch (Exception e) {
            LOG.log(Level.ERROR, "container ''{0}'' hit a limitation ({1}) but could not be destroyed: {2}",
                    c.id, limitation.getMessage(), e.getMessage());
        } finally {
            c.lock.unlock();
        }
    }

    private void onExit(Container c, Termination exited, Throwable error) {
        c.lock.lock();
        try {
            if (c.state() == ContainerState.TERMINATED || c.state() == ContainerState.DESTROYING) {
                return;
            }
            awaitLimitationBehindKill(c, exited);
            Termination termination = error == null ? classify(c, exited) : Termination.newBuilder()
                    .setReason(TerminationReason.LOST)
                    .setMessage("the launcher lost track of the task: " + Failures.unwrap(error).getMessage())
                    .build();
            finish(c, termination);
        } finally {
            c.lock.unlock();
        }
    }

    /**
     * The kernel's SIGKILL for a limit (the OOM killer) can reach the task before the isolator's
     * notice reaches us. A SIGKILL nobody here sent gets a short grace for that notice, so the
     * container ends with its limitation instead of a bare signal.
     */
    private static void awaitLimitationBehindKill(Container c, Termination exited) {
        if (exited == null || exited.hasLimitation() || c.record.hasLimitation() || c.record.getKilled()
                || exited.getStatusCase() != Termination.StatusCase.SIGNAL || exited.getSignal() != SIGKILL) {
            return;
        }
        try {
            c.record.setLimitation(c.limitation.get(LIMITATION_GRACE_MS, TimeUnit.MILLISECONDS));
        } catch (TimeoutException | ExecutionException e) {
            // killed by someone else: an exit like any other
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The launcher reports how the task ended; the containerizer knows why (a kill, a limitation). */
    private static Termination classify(Container c, Termination exited) {
        Termination.Builder t = exited.toBuilder();
        if (c.record.hasLimitation()) {
            t.setReason(TerminationReason.LIMITATION).setLimitation(c.record.getLimitation());
            if (t.getMessage().isEmpty()) {
                t.setMessage(c.record.getLimitation().getMessage());
            }
        } else if (c.record.getKilled() && exited.getStatusCase() == Termination.StatusCase.SIGNAL) {
            t.setReason(TerminationReason.KILLED);
        } else if (t.getReason() == TerminationReason.TERMINATION_REASON_UNSPECIFIED) {
            t.setReason(TerminationReason.EXITED);
        }
        return t.build();
    }

    /**
     * Cleans up and records the termination. DESTROYING is not written on the way: if the daemon dies
     * during cleanup, the record still says RUNNING and recovery learns the exit again from the
     * launcher (whose monitor keeps it on disk); a kill or a limitation was checkpointed when it
     * happened. A failed cleanup is written, and leaves the container DESTROYING so that destroy or a
     * restart tries again.
     */
    private void finish(Container c, Termination termination) {
        c.record.getStatusBuilder().setTermination(termination);
        if (c.state() != ContainerState.DESTROYING) {
            enter(c, ContainerState.DESTROYING);
        }
        try {
            releaseResources(c);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "cleanup of container ''{0}'' failed; it stays DESTROYING: {1}", c.id, e.getMessage());
            checkpoint(c);
            c.terminated.complete(termination);
            return;
        }
        c.record.getStatusBuilder().setFinishedAt(now());
        moveTo(c, ContainerState.TERMINATED);
        c.terminated.complete(termination);
    }

    /** Isolator cleanup (reverse order, past failures) and the rootfs; all failures together. */
    private void releaseResources(Container c) {
        List<RuntimeException> failures = new ArrayList<>();
        try {
            chainOf(c).cleanup(isolatorContexts(c));
        } catch (RuntimeException e) {
            failures.add(e);
        }
        if (c.record.getConfig().hasImage() && provisioner.isPresent()) {
            try {
                provisioner.get().destroy(c.id);
            } catch (Exception e) {
                failures.add(Failures.of("provisioner", "remove the rootfs", e));
            }
        }
        if (!failures.isEmpty()) {
            VesselException all = new VesselException(ErrorCode.INTERNAL, c.id, failures.stream()
                    .map(Throwable::getMessage).collect(Collectors.joining("; ")));
            failures.forEach(all::addSuppressed);
            throw all;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // operations on existing containers

    @Override
    public CompletableFuture<Termination> wait(String containerId) {
        return get(containerId).terminated.copy();
    }

    @Override
    public void kill(String containerId, int signal) {
        if (signal < 1 || signal > 64) {
            throw VesselException.invalid("signal", signal + " is not a signal number (1 to 64)");
        }
        Container c = get(containerId);
        c.lock.lock();
        try {
            requireState(c, ContainerState.RUNNING);
            c.record.setKilled(true);
            checkpoint(c);
            LaunchedTask task = c.task;
            step("launcher '" + c.launcher.name() + "'", "send signal " + signal, () -> {
                task.signal(signal);
                return null;
            });
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
        c.lock.lock();
        try {
            if (containers.get(c.id) != c) {
                // its launch failed while we waited for the lock, and undid everything
                throw VesselException.notFound(containerId, "no container '" + containerId + "' on this node");
            }
            switch (c.state()) {
                case TERMINATED -> {
                    return c.record.getStatus().getTermination();
                }
                case DESTROYING -> {
                    if (c.record.getStatus().hasTermination()) {
                        finish(c, c.record.getStatus().getTermination()); // retry a cleanup that failed
                    }
                }
                default -> {
                    c.record.setKilled(true);
                    checkpoint(c);
                    LaunchedTask task = c.task;
                    step("launcher '" + c.launcher.name() + "'", "destroy the task", () -> {
                        task.destroy();
                        return null;
                    });
                }
            }
        } finally {
            c.lock.unlock();
        }
        return c.terminated.join();
    }

    @Override
    public void update(String containerId, Resources resources) {
        Container c = get(containerId);
        validator.validate(c.record.getConfig().toBuilder().setResources(resources).build());
        c.lock.lock();
        try {
            requireState(c, ContainerState.RUNNING);
            chainOf(c).update(isolatorContexts(c), resources);
            c.record.getConfigBuilder().setResources(resources);
            checkpoint(c);
        } finally {
            c.lock.unlock();
        }
    }

    /** The record's status; while the task runs, completed with what isolators report (its IPs). */
    @Override
    public ContainerStatus status(String containerId) {
        return underLock(containerId, c -> {
            if (c.state() != ContainerState.RUNNING) {
                return c.record.getStatus();
            }
            ContainerStatus reported = chainOf(c).status(isolatorContexts(c));
            return c.record.getStatus().toBuilder().addAllIpAddresses(reported.getIpAddressesList()).build();
        });
    }

    @Override
    public ContainerConfig config(String containerId) {
        return underLock(containerId, c -> c.record.getConfig());
    }

    /** Runs {@code read} on the container while holding its lock. */
    private <T> T underLock(String containerId, Function<Container, T> read) {
        Container c = get(containerId);
        c.lock.lock();
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
            requireState(c, ContainerState.RUNNING);
            return chainOf(c).usage(isolatorContexts(c)).toBuilder().setTimestamp(now()).build();
        });
    }

    @Override
    public void remove(String containerId) {
        Container c = get(containerId);
        c.lock.lock();
        try {
            requireState(c, ContainerState.TERMINATED);
            for (Container child : childrenOf(c)) {
                requireState(child, ContainerState.TERMINATED);
            }
            deleteTree(c.dir);
            containers.values().removeIf(other -> other.lineage.contains(c.id));
        } finally {
            c.lock.unlock();
        }
    }

    private Container get(String containerId) {
        Container c = containers.get(containerId);
        if (c == null) {
            throw VesselException.notFound(containerId, "no container '" + containerId + "' on this node");
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

    private void requireRecovered() {
        if (!recovered) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, null,
                    "the containerizer must recover its checkpoints before it launches anything");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // recovery

    /**
     * Reads every container record, lets isolators rebuild their state, finds each running task
     * again through its launcher, finishes what a crash interrupted (an unfinished launch is undone,
     * an unfinished destroy completed) and removes directories that hold no record.
     */
    @Override
    public synchronized void recover() {
        if (recovered) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, null, "recover() runs once, at start-up");
        }
        createDirectory(paths.containersDir());
        BootStamp bootStamp = new BootStamp(paths.bootStamp());
        earlierBoot = bootStamp.fromEarlierBoot();
        if (earlierBoot) {
            LOG.log(Level.INFO, "{0} was written before the machine restarted: its tasks ended with that boot",
                    paths.runDir());
        }
        List<Container> found = new ArrayList<>();
        scan(paths.containersDir(), List.of(), found);

        List<Container> live = found.stream().filter(c -> c.state() != ContainerState.TERMINATED).toList();
        allIsolators.recover(isolator -> live.stream()
                .filter(c -> isolator.appliesTo(c.record.getConfig().getIsolation()))
                .<ContainerContext>map(c -> isolatorContext(c, isolator)).toList());

        // Children before parents, so that tearing a parent down never pulls a child's isolation away.
        for (Container c : found.reversed()) {
            recoverOne(c);
        }
        Set<String> liveIds = containers.values().stream()
                .filter(c -> c.state() != ContainerState.TERMINATED).map(c -> c.id).collect(Collectors.toSet());
        for (Launcher launcher : launchersByName.values()) {
            step("launcher " + launcher.name(), "remove orphans", () -> {
                launcher.removeOrphans(liveIds);
                return null;
            });
        }
        if (provisioner.isPresent()) {
            step("provisioner", "recover", () -> {
                provisioner.get().recover(liveIds);
                return null;
            });
        }
        bootStamp.stamp();
        recovered = true;
    }

    /** Depth first, parents before their nested containers. */
    private void scan(Path dir, List<String> parentLineage, List<Container> found) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            List<Path> sorted = new ArrayList<>();
            entries.forEach(sorted::add);
            sorted.sort(Comparator.naturalOrder());
            for (Path entry : sorted) {
                if (!Files.isDirectory(entry) || earlierBoot && !tornRecordsRemoved(entry)) {
                    continue;
                }
                Optional<ContainerRecord> record = CheckpointFile.read(paths.containerRecord(entry), RECORD_CODEC);
                if (record.isEmpty()) {
                    // a crash between creating the directory and the first checkpoint: nothing ran
                    LOG.log(Level.INFO, "removing {0}: a container directory without a record", entry);
                    deleteTree(entry);
                    continue;
                }
                AtomicFiles.removeStaleTemporaries(entry);
                List<String> lineage = new ArrayList<>(parentLineage);
                lineage.add(entry.getFileName().toString());
                Container c = new Container(entry.getFileName().toString(), lineage, entry, record.get().toBuilder());
                c.launcher = launchersByName.get(c.record.getLauncher());
                if (c.state() == ContainerState.TERMINATED) {
                    c.terminated.complete(c.record.getStatus().getTermination());
                }
                found.add(c);
                scan(paths.nestedContainersDir(entry), lineage, found);
            }
        } catch (IOException e) {
            throw VesselException.internal(dir.toString(), "cannot read container directories: " + e.getMessage(), e);
        }
    }

    /**
     * In a run dir of an earlier boot, a crash of the machine may have torn checkpoints: a container
     * whose record is torn is removed (false); another torn checkpoint of it is removed, its component
     * then finds none. Everything they described ended with that boot.
     */
    private boolean tornRecordsRemoved(Path containerDir) throws IOException {
        if (CheckpointFile.isDamaged(paths.containerRecord(containerDir))) {
            LOG.log(Level.WARNING, "removing {0}: its record was torn by the machine''s crash", containerDir);
            deleteTree(containerDir);
            return false;
        }
        List<Path> checkpoints = new ArrayList<>(List.of(paths.launcherCheckpoint(containerDir)));
        Path isolators = paths.isolatorCheckpointsDir(containerDir);
        if (Files.isDirectory(isolators)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(isolators)) {
                files.forEach(checkpoints::add);
            }
        }
        for (Path checkpoint : checkpoints) {
            if (CheckpointFile.isDamaged(checkpoint)) {
                LOG.log(Level.WARNING, "removing {0}: torn by the machine''s crash", checkpoint);
                Files.delete(checkpoint);
            }
        }
        return true;
    }

    private void recoverOne(Container c) {
        c.lock.lock();
        try {
            switch (c.state()) {
                case TERMINATED -> containers.put(c.id, c);
                case RUNNING -> {
                    containers.put(c.id, c);
                    Optional<LaunchedTask> task = recoverTask(c);
                    if (task.isPresent()) {
                        c.task = task.get();
                        watch(c);
                    } else {
                        finish(c, lost());
                    }
                }
                case DESTROYING -> {
                    containers.put(c.id, c);
                    Optional<LaunchedTask> task = recoverTask(c);
                    Termination termination = c.record.getStatus().getTermination();
                    if (task.isPresent()) {
                        // a destroy was under way: finish it, and learn how the task ended if not yet known
                        task.get().destroy();
                        Termination exited = task.get().exit().join();
                        if (!c.record.getStatus().hasTermination()) {
                            termination = classify(c, exited);
                        }
                    } else if (!c.record.getStatus().hasTermination()) {
                        termination = lost();
                    }
                    finish(c, termination);
                }
                default -> {
                    // A launch the crash interrupted: the caller never heard of success, so undo it.
                    recoverTask(c).ifPresent(task -> {
                        try {
                            task.destroy();
                        } catch (Exception e) {
                            throw Failures.of("launcher '" + c.launcher.name() + "'", "destroy an interrupted launch", e);
                        }
                    });
                    releaseResources(c);
                    deleteTree(c.dir);
                }
            }
        } catch (Exception e) {
            throw Failures.of("container '" + c.id + "'", "recover", e);
        } finally {
            c.lock.unlock();
        }
    }

    private Termination lost() {
        return Termination.newBuilder().setReason(TerminationReason.LOST).setMessage(earlierBoot
                ? "the machine restarted while the task ran" : "the task could not be found after a restart").build();
    }

    private Optional<LaunchedTask> recoverTask(Container c) throws Exception {
        if (c.launcher == null || earlierBoot) {
            return Optional.empty(); // its launcher is no longer configured on this node, or it ended with the boot
        }
        // Asked even before a pid was recorded: the launcher checkpoints inside fork, so it knows best.
        return c.launcher.recover(launcherContext(c));
    }

    // ---------------------------------------------------------------------------------------------
    // helpers

    /** The isolators that apply to the container's isolation class. */
    private IsolatorChain chainOf(Container c) {
        return chains.get(c.record.getConfig().getIsolation());
    }

    private Function<Isolator, ContainerContext> isolatorContexts(Container c) {
        Map<Isolator, ContainerContext> contexts = new ConcurrentHashMap<>(); // prepare runs concurrently
        return isolator -> contexts.computeIfAbsent(isolator, i -> isolatorContext(c, i));
    }

    private ContainerContext isolatorContext(Container c, Isolator isolator) {
        return new ComponentContext(c.id, c.record.getConfig(), c.dir,
                new Checkpoint(paths.isolatorCheckpoint(c.dir, isolator.name())));
    }

    private ContainerContext launcherContext(Container c) {
        return new ComponentContext(c.id, c.record.getConfig(), c.dir, new Checkpoint(paths.launcherCheckpoint(c.dir)));
    }

    /** Moves to {@code next} in memory only; the next checkpoint writes it. */
    private static void enter(Container c, ContainerState next) {
        StateMachine.check(c.id, c.state(), next);
        c.record.getStatusBuilder().setState(next);
    }

    /** Moves to {@code next} and checkpoints the record. */
    private void moveTo(Container c, ContainerState next) {
        enter(c, next);
        checkpoint(c);
    }

    private void checkpoint(Container c) {
        CheckpointFile.write(paths.containerRecord(c.dir), RECORD_CODEC, c.record.build());
    }

    @FunctionalInterface
    private interface Step<T> {
        T run() throws Exception;
    }

    /** Runs one component's step, naming the component and the step in any failure. */
    private static <T> T step(String component, String what, Step<T> step) {
        try {
            return step.run();
        } catch (Exception e) {
            throw Failures.of(component, what, e);
        }
    }

    private Timestamp now() {
        Instant i = clock.instant();
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }

    private static void createDirectory(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw VesselException.internal(dir.toString(), "cannot create directory: " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw VesselException.internal(dir.toString(), "cannot remove directory: " + e.getMessage(), e);
        }
    }
}
