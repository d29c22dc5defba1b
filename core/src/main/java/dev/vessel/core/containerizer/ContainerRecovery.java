package dev.vessel.core.containerizer;

import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.checkpoint.CheckpointFile;
import dev.vessel.core.error.Failures;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerRecord;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.DirectoryEntries;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.spi.Provisioner;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The containerizer's start-up: reads every container record, lets isolators rebuild their state,
 * finds each running task again through its launcher, finishes what a crash interrupted (an
 * unfinished launch is undone, an unfinished destroy completed), removes directories that hold no
 * record, and lets launchers and the provisioner remove what no live container uses. One instance
 * recovers once.
 */
final class ContainerRecovery {
    private static final System.Logger LOG = System.getLogger(ContainerRecovery.class.getName());

    private final RuntimePaths paths;
    private final Map<String, Launcher> launchersByName;
    private final IsolatorChains chains;
    private final Optional<Provisioner> provisioner;
    private final ContainerReaper reaper;
    /** Set when the run dir is from an earlier boot: no task it names can still run. */
    private boolean earlierBoot;

    ContainerRecovery(RuntimePaths paths, Map<String, Launcher> launchersByName, IsolatorChains chains,
            Optional<Provisioner> provisioner, ContainerReaper reaper) {
        this.paths = paths;
        this.launchersByName = launchersByName;
        this.chains = chains;
        this.provisioner = provisioner;
        this.reaper = reaper;
    }

    /** Recovers the containers on disk into {@code containers}: those that still exist afterwards. */
    void recoverInto(Map<String, Container> containers) {
        Directories.create(paths.containersDir());
        BootStamp bootStamp = new BootStamp(paths.bootStamp());
        earlierBoot = bootStamp.fromEarlierBoot();
        if (earlierBoot) {
            LOG.log(Level.INFO, "{0} was written before the machine restarted: its tasks ended with that boot",
                    paths.runDir());
        }
        List<Container> found = readContainers();

        List<Container> live = found.stream().filter(c -> c.state() != ContainerState.TERMINATED).toList();
        // An isolator that cannot recover (an orphan's CNI DEL fails) is logged, not fatal: its live
        // containers' cleanups then fail, are marked and retried like any other.
        sweep(() -> chains.all().recover(isolator -> live.stream()
                .filter(c -> isolator.appliesTo(c.record.getConfig().getIsolation()))
                .<ContainerContext>map(c -> ComponentContext.ofIsolator(c, isolator)).toList()));

        // Children before parents, so that tearing a parent down never pulls a child's isolation away.
        for (Container c : found.reversed()) {
            recoverOne(c, containers);
        }
        Set<String> liveIds = containers.values().stream()
                .filter(c -> c.state() != ContainerState.TERMINATED).map(c -> c.id).collect(Collectors.toSet());
        // Sweeps of what no container owns: a failure is logged, and the next start sweeps again.
        for (Launcher launcher : launchersByName.values()) {
            sweep(() -> ComponentStep.run("launcher " + launcher.name(), "remove orphans", () -> {
                launcher.removeOrphans(liveIds);
                return null;
            }));
        }
        provisioner.ifPresent(p -> sweep(() -> ComponentStep.run("provisioner", "recover", () -> {
            p.recover(liveIds);
            return null;
        })));
        bootStamp.stamp();
    }

    /**
     * The containers whose records are on disk, parents before their nested containers. A directory
     * without a usable record is removed, with the containers nested in it.
     */
    private List<Container> readContainers() {
        List<Container> found = new ArrayList<>();
        Set<List<String>> removed = new HashSet<>();
        for (List<String> lineage : paths.containerLineages()) {
            if (removed.contains(lineage.subList(0, lineage.size() - 1))) {
                removed.add(lineage); // went with its parent's directory
                continue;
            }
            Path dir = paths.containerDir(lineage);
            Optional<ContainerRecord> record = readRecord(dir);
            if (record.isEmpty()) {
                removed.add(lineage);
                continue;
            }
            Container c = new Container(paths, lineage, true, record.get().toBuilder());
            c.launcher = launchersByName.get(c.record.getLauncher());
            if (c.state() == ContainerState.TERMINATED) {
                c.terminated.complete(c.record.getStatus().getTermination());
            }
            found.add(c);
        }
        return found;
    }

    /** The record in {@code containerDir}, or empty once a directory without a usable one is removed. */
    private Optional<ContainerRecord> readRecord(Path containerDir) {
        try {
            if (earlierBoot && !tornRecordsRemoved(containerDir)) {
                return Optional.empty();
            }
            Optional<ContainerRecord> record = CheckpointFile.read(paths.containerRecord(containerDir),
                    Container.RECORD_CODEC);
            if (record.isEmpty()) {
                // a crash between creating the directory and the first checkpoint: nothing ran
                LOG.log(Level.INFO, "removing {0}: a container directory without a record", containerDir);
                Directories.deleteTree(containerDir);
                return record;
            }
            AtomicFiles.removeStaleTemporaries(containerDir);
            return record;
        } catch (IOException e) {
            throw VesselException.internal(containerDir.getParent().toString(),
                    "cannot read container directories: " + e.getMessage(), e);
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
            Directories.deleteTree(containerDir);
            return false;
        }
        List<Path> checkpoints = new ArrayList<>(List.of(paths.launcherCheckpoint(containerDir)));
        checkpoints.addAll(DirectoryEntries.matching(paths.isolatorCheckpointsDir(containerDir), "*"));
        for (Path checkpoint : checkpoints) {
            if (CheckpointFile.isDamaged(checkpoint)) {
                LOG.log(Level.WARNING, "removing {0}: torn by the machine''s crash", checkpoint);
                Files.delete(checkpoint);
            }
        }
        return true;
    }

    /**
     * Recovers one container. A failure here never stops the daemon: the container is kept,
     * DESTROYING with its error and retried in the background ({@link ContainerReaper#cleanupFailed}),
     * while the node serves the others.
     */
    private void recoverOne(Container c, Map<String, Container> containers) {
        c.lock.lock();
        try {
            containers.put(c.id, c);
            switch (c.state()) {
                case TERMINATED -> c.execs.recoverEnded();
                // CREATED: its task was blocked on the pipe of the daemon that died, so the launcher finds it ended
                case RUNNING, CREATED, PAUSED -> {
                    Optional<LaunchedTask> task = recoverTask(c);
                    if (task.isPresent()) {
                        c.task = task.get();
                        c.execs.recover(c.launcher, ComponentContext.ofLauncher(c));
                        if (c.state() == ContainerState.PAUSED) {
                            freezeAgain(c);
                        }
                        reaper.watch(c);
                    } else {
                        c.execs.recoverEnded();
                        reaper.finish(c, lost());
                    }
                }
                case DESTROYING -> {
                    c.execs.recoverEnded();
                    Optional<LaunchedTask> task = recoverTask(c);
                    Termination termination = c.record.getStatus().getTermination();
                    if (task.isPresent()) {
                        // a destroy was under way: finish it, and learn how the task ended if not yet known
                        task.get().destroy();
                        Termination exited = task.get().exit().join();
                        if (!c.record.getStatus().hasTermination()) {
                            termination = ContainerReaper.classify(c, exited);
                        }
                    } else if (!c.record.getStatus().hasTermination()) {
                        termination = lost();
                    }
                    reaper.finish(c, termination);
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
                    if (c.record.getRelaunched()) {
                        // a start of an ended container: it has ended again, and is kept with its logs
                        reaper.finish(c, Termination.newBuilder().setReason(TerminationReason.LAUNCH_FAILED)
                                .setMessage("the daemon stopped during its start").build());
                    } else {
                        reaper.release(c);
                        Directories.deleteTree(c.dir);
                        containers.remove(c.id, c);
                    }
                }
            }
        } catch (Exception e) {
            keepFailed(c, e);
        } finally {
            c.lock.unlock();
        }
    }

    /**
     * The freezer kept a paused container frozen; a crash between a pause's checkpoint and its freeze did not.
     * A freeze that fails now leaves it running, and says so: its task is fine, only the pause is lost.
     */
    private void freezeAgain(Container c) {
        try {
            chains.of(c).freeze(ComponentContext.perIsolator(c), true);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "container ''{0}'' was paused but cannot be frozen again, so it runs: {1}", c.id,
                    e.getMessage());
            c.moveTo(ContainerState.RUNNING);
        }
    }

    /**
     * A container whose recovery failed stays, DESTROYING, with the error, and its cleanup is retried:
     * an interrupted launch ends as LAUNCH_FAILED, a task that could not be found again as LOST.
     */
    private void keepFailed(Container c, Exception e) {
        VesselException failure = Failures.of("container '" + c.id + "'", "recover", e);
        if (!c.record.getStatus().hasTermination()) {
            boolean launched = c.state() == ContainerState.RUNNING || c.state() == ContainerState.CREATED
                    || c.state() == ContainerState.PAUSED || c.state() == ContainerState.DESTROYING;
            c.record.getStatusBuilder().setTermination(launched ? lost() : Termination.newBuilder()
                    .setReason(TerminationReason.LAUNCH_FAILED)
                    .setMessage("the daemon stopped during the launch").build());
        }
        if (c.state() != ContainerState.DESTROYING) {
            c.enter(ContainerState.DESTROYING);
        }
        reaper.cleanupFailed(c, failure);
        c.terminated.complete(c.record.getStatus().getTermination());
    }

    private static void sweep(Runnable sweep) {
        try {
            sweep.run();
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "recovery goes on without it: {0}", e.getMessage());
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
        return c.launcher.recover(ComponentContext.ofLauncher(c));
    }
}
