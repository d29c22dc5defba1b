package dev.vessel.launcher.vm;

import dev.vessel.core.agent.DestroyTask;
import dev.vessel.core.agent.GuestMount;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.LaunchTask;
import dev.vessel.core.agent.SignalTask;
import dev.vessel.core.agent.UpdateResources;
import dev.vessel.core.agent.UsageRequest;
import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Failures;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.vm.RunningVm;
import dev.vessel.launcher.vm.agent.AgentClient;
import dev.vessel.launcher.vm.agent.OneTaskListener;
import dev.vessel.launcher.vm.agent.PodListener;
import dev.vessel.launcher.vm.domain.AgentChannelTakeover;
import dev.vessel.launcher.vm.domain.ConsoleTail;
import dev.vessel.launcher.vm.domain.GuestRootfs;
import dev.vessel.launcher.vm.domain.CgroupPartition;
import dev.vessel.launcher.vm.domain.LibvirtDomains;
import dev.vessel.launcher.vm.domain.QemuProcess;
import dev.vessel.launcher.vm.pool.WarmGuest;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The task of one VM container: the domain, its QEMU, and the agent connection to the guest that
 * runs the task. The task's end is learnt from the guest ({@code TaskExited}); if QEMU dies or the
 * guest goes silent without one, the task is LOST. Once the task has ended the VM has no purpose
 * left: it is torn down (domain destroyed, socket removed) before {@link #exit()} completes. A closed
 * channel alone says nothing: QEMU's exit, watched on its own, tells whether the VM is gone.
 */
public final class VmTask implements LaunchedTask, RunningVm {
    private static final System.Logger LOG = System.getLogger(VmTask.class.getName());
    private static final int SIGKILL = 9;
    /** DestroyTask is a courtesy (the guest cleans up and flushes output); the domain dies regardless. */
    private static final Duration DESTROY_REQUEST_TIMEOUT = Duration.ofSeconds(5);
    /** After QEMU died, how long the channel may take to deliver what the guest wrote last. */
    private static final long DRAIN_MILLIS = 2000;
    private static final long QEMU_EXIT_TIMEOUT_SECONDS = 30;
    /** How long a guest found again after a restart may stay silent on one connection before another is tried. */
    private static final Duration RECONNECT_EVERY = Duration.ofSeconds(10);

    private final String containerId;
    private final ContainerConfig config;
    private final VmTaskCheckpoint checkpoint;
    private final Checkpoint checkpointSlot;
    private final LibvirtDomains libvirt;
    /** Where its domain's cgroups are: how the task's CPU weight is given to libvirt. */
    private final CgroupPartition partition;
    private final QemuProcess qemu;
    private final AgentClient agent;
    private final OutputLogs logs;
    private final Duration requestTimeout;
    private final List<GuestMount> guestMounts;
    private final List<GuestInterface> interfaces;
    /** What the guest mounts as the task's root. */
    private final GuestRootfs rootfs;
    private final CompletableFuture<Termination> exit = new CompletableFuture<>();
    private volatile boolean destroying;
    /** Set by the first end reported (the guest's exit, or the VM lost); later ones are duplicates. */
    private final AtomicBoolean ending = new AtomicBoolean();
    /** Its launcher closed: the VM runs on for a restarted daemon to find, and this object acts no more. */
    private volatile boolean detached;
    private boolean tornDown;
    /** A VM pod's: passes its members' events to them ({@link PodMemberTask}); null for any other task. */
    private final PodListener podListener;
    /** libvirt's destroy of the domain, started by {@link #tearDown}. */
    private volatile CompletableFuture<Void> domainDestroyed;
    /** The task's stdio and execs, through the guest's agent. */
    private final GuestTaskStdio stdio;

    /**
     * Everything a live VM task is made of; {@link VmLauncher} builds it. {@code guestMounts} and
     * {@code interfaces} are what the launch tells the guest to mount and to configure on its NICs
     * (none for a task found again after a restart: it runs already).
     */
    record Parts(String containerId, ContainerConfig config, VmTaskCheckpoint checkpoint, Checkpoint checkpointSlot,
            LibvirtDomains libvirt, CgroupPartition partition, QemuProcess qemu, AgentClient agent, OutputLogs logs,
            Duration requestTimeout, List<GuestMount> guestMounts, List<GuestInterface> interfaces,
            GuestRootfs rootfs) {
    }

    /**
     * A task whose VM runs; from now on it hears the agent's events. Call {@link #handshake} next, or
     * {@link #adopt} for a warm guest whose agent said hello already.
     */
    VmTask(Parts p) {
        this.containerId = p.containerId();
        this.config = p.config();
        this.checkpoint = p.checkpoint();
        this.checkpointSlot = p.checkpointSlot();
        this.libvirt = p.libvirt();
        this.partition = p.partition();
        this.qemu = p.qemu();
        this.logs = p.logs();
        this.requestTimeout = p.requestTimeout();
        this.guestMounts = List.copyOf(p.guestMounts());
        this.interfaces = List.copyOf(p.interfaces());
        this.rootfs = p.rootfs();
        this.agent = p.agent();
        AgentClient.Listener own = new AgentClient.Listener() {
            @Override
            public void event(GuestFrame frame) {
                onEvent(frame);
            }

            @Override
            public void silent(Duration silence) {
                lost("the guest agent answered nothing for " + silence.toSeconds() + " s");
            }

            @Override
            public void brokeProtocol(VesselException why) {
                lost(why.getMessage());
            }
        };
        this.podListener = config.getPod() ? new PodListener(containerId, own) : null;
        agent.listenWith(podListener != null ? podListener : new OneTaskListener(containerId, own));
        this.stdio = new GuestTaskStdio(containerId, this::agent, requestTimeout, exit);
    }

    /** A task that ended while nobody watched (its VM is gone), its end read from the checkpoint. */
    private VmTask(String containerId, VmTaskCheckpoint checkpoint, LibvirtDomains libvirt, Termination termination) {
        this.containerId = containerId;
        this.config = ContainerConfig.getDefaultInstance();
        this.checkpoint = checkpoint;
        this.checkpointSlot = null;
        this.libvirt = libvirt;
        this.partition = null;
        this.qemu = null;
        this.agent = null;
        this.logs = null;
        this.requestTimeout = Duration.ZERO;
        this.guestMounts = List.of();
        this.interfaces = List.of();
        this.rootfs = GuestRootfs.SHARE;
        this.podListener = null;
        this.stdio = new GuestTaskStdio(containerId, this::agent, requestTimeout, exit);
        this.exit.complete(termination);
    }

    static VmTask ended(String containerId, VmTaskCheckpoint checkpoint, LibvirtDomains libvirt, Termination termination) {
        return new VmTask(containerId, checkpoint, libvirt, termination);
    }

    /**
     * Connects to the guest and waits for its hello (a booting guest, or one found again after a
     * restart, which then re-sends what it had not delivered). Fails, with the end of the console,
     * when QEMU exits first or the hello does not come in time.
     */
    void handshake(Duration timeout) throws InterruptedException {
        CompletableFuture<?> hello = agent.connect();
        try {
            CompletableFuture.anyOf(hello, qemu.exited()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "vm", "the guest agent of " + checkpoint.getDomainName()
                    + " did not say hello within " + timeout.toSeconds() + " s" + console());
        } catch (ExecutionException e) {
            // the hello failed: told apart below
        }
        if (!hello.isDone() || hello.isCompletedExceptionally()) {
            // The channel closes as QEMU exits: then the VM's end, not the channel, is the story.
            if (hasQemuExited()) {
                throw new VesselException(ErrorCode.INTERNAL, "vm", "the VM " + checkpoint.getDomainName()
                        + " ended before its agent said hello" + console());
            }
            Throwable cause = Failures.unwrap(hello.exceptionNow());
            throw new VesselException(ErrorCode.INTERNAL, "vm", "the guest agent of " + checkpoint.getDomainName()
                    + " could not be reached: " + cause.getMessage() + console(), cause);
        }
        adopt();
    }

    /**
     * The handshake with a guest found again after a restart, on a fresh connection every {@link #RECONNECT_EVERY}
     * until {@code timeout}: the agent says hello to each new connection, but what the old daemon's connection
     * left half-sent (a frame cut short in QEMU's buffer goes to the next connection) puts the stream out of
     * step, and the hello behind it is then never read; a new connection starts clean. Before each new one the
     * channel is taken back from whatever connection QEMU still serves ({@link AgentChannelTakeover}): until
     * QEMU has seen the old daemon's close, ours would wait in its queue, then be refused.
     */
    void handshakeAgain(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            try {
                handshake(Duration.ofNanos(Math.max(0, Math.min(left, RECONNECT_EVERY.toNanos()))));
                return;
            } catch (VesselException e) {
                if (deadline - System.nanoTime() <= 0 || hasQemuExited()) {
                    throw new VesselException(e.code(), "vm", "the guest agent of " + checkpoint.getDomainName()
                            + " said no hello within " + timeout.toSeconds() + " s over fresh connections: "
                            + e.getMessage(), e);
                }
                LOG.log(Level.INFO, "no hello yet from the guest of {0}; taking its channel back and connecting "
                        + "afresh: {1}", checkpoint.getDomainName(), e.getMessage());
                takeChannelBack();
            }
        }
    }

    private void takeChannelBack() {
        try {
            AgentChannelTakeover.takeBack(libvirt, checkpoint.getDomainUuid(), Path.of(checkpoint.getAgentSocket()));
        } catch (IOException | RuntimeException | LinkageError e) { // LinkageError: a libvirt without the call
            LOG.log(Level.WARNING, "the agent channel of {0} could not be taken back: {1}",
                    checkpoint.getDomainName(), e.getMessage());
        }
    }

    /** Watches QEMU from now on: its exit without the guest's report ends the task as LOST. */
    void adopt() {
        qemu.exited().thenRun(this::qemuExited);
    }

    /** Whether QEMU is gone; given a moment, since its channel closes a little before it exits. */
    private boolean hasQemuExited() throws InterruptedException {
        try {
            qemu.exited().get(DRAIN_MILLIS, TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException | ExecutionException e) {
            return false;
        }
    }

    public String containerId() {
        return containerId;
    }

    String domainUuid() {
        return checkpoint.getDomainUuid();
    }

    String domainName() {
        return checkpoint.getDomainName();
    }

    /** A VM pod's share, where its members' rootfs are bound; empty for any other task. */
    Optional<Path> podShare() {
        return checkpoint.getPodShare().isEmpty() ? Optional.empty() : Optional.of(Path.of(checkpoint.getPodShare()));
    }

    /** A VM pod's demultiplexer of its guest's events; empty for any other task. */
    Optional<PodListener> podListener() {
        return Optional.ofNullable(podListener);
    }

    /** The directory of the warm guest this task was handed, if it was. */
    Optional<Path> warmGuestDir() {
        return checkpoint.getWarmGuestDir().isEmpty() ? Optional.empty() : Optional.of(Path.of(checkpoint.getWarmGuestDir()));
    }

    @Override
    public long pid() {
        return qemu == null ? 0 : qemu.pid();
    }

    /**
     * Has the guest run the task: caps its VM at the task's CPUs on the host (the boot before ran uncapped: it is
     * Vessel's cost, not the task's), then the guest mounts the rootfs share and the volumes, runs the in-guest
     * isolators and starts it. A pod's task has no rootfs: the guest runs its pause, whose namespaces the members
     * join.
     */
    @Override
    public void release() throws Exception {
        double cpus = config.getResources().getCpus();
        if (cpus > 0) {
            libvirt.setCpuLimit(checkpoint.getDomainUuid(), cpus);
        }
        LaunchTask.Builder launch = LaunchTask.newBuilder().setContainerId(containerId).setConfig(config)
                .addAllInterfaces(interfaces);
        if (!config.getPod()) {
            launch.setRootfsTag(rootfs.tag()).setRootfsVirtiofs(rootfs.virtiofs())
                    .setRootfsPath(checkpoint.getWarmGuestDir().isEmpty() ? "" : RuntimePaths.WARM_GUEST_ROOTFS_IN_SHARE)
                    .addAllMounts(guestMounts);
        }
        GuestFrame reply = stdio.launch(launch.build());
        if (!reply.hasStarted()) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "the guest agent answered the launch with "
                    + reply.getBodyCase() + " instead of started");
        }
        stdio.released();
    }

    /** A task found again after a restart: the guest has run it (or it ended) long ago. */
    void releasedBefore() {
        stdio.released();
    }

    @Override
    public CompletableFuture<Termination> exit() {
        return exit;
    }

    @Override
    public void signal(int signal) throws Exception {
        if (exit.isDone()) {
            return;
        }
        await(agent().request(HostFrame.newBuilder().setSignal(SignalTask.newBuilder()
                .setContainerId(containerId).setSignal(signal)), requestTimeout));
    }

    /**
     * Changes the task's CPU weight and limit on the host (its domain's) and its limits inside the guest (the VM's
     * own size stays as it booted).
     */
    @Override
    public void update(Resources resources) throws Exception {
        libvirt.setCpuWeight(checkpoint.getDomainUuid(), partition.cpuWeight(resources));
        libvirt.setCpuLimit(checkpoint.getDomainUuid(), resources.getCpus());
        await(agent().request(HostFrame.newBuilder().setUpdate(UpdateResources.newBuilder()
                .setContainerId(containerId).setResources(resources)), requestTimeout));
    }

    /** The task's statistics as the guest's isolators measure them. */
    @Override
    public ResourceStatistics usage() throws Exception {
        GuestFrame reply = await(agent().request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder()
                .setContainerId(containerId)), requestTimeout));
        return reply.getUsage();
    }

    /** The task's stdio and execs, through its guest. */
    GuestTaskStdio stdio() {
        return stdio;
    }

    /** A termination as a shell reports it: the exit code, or 128 + the signal; 255 for an end with neither (a lost VM). */
    static int shellStatus(Termination termination) {
        return switch (termination.getStatusCase()) {
            case EXIT_CODE -> termination.getExitCode();
            case SIGNAL -> 128 + termination.getSignal();
            case STATUS_NOT_SET -> 255;
        };
    }

    /**
     * Asks the guest to kill the task (best effort, briefly), then destroys the domain whatever it
     * answered. Idempotent; returns once QEMU is gone.
     */
    @Override
    public void destroy() throws Exception {
        destroying = true;
        if (!exit.isDone() && agent != null && agent.isConnected()) {
            try {
                await(agent.request(HostFrame.newBuilder().setDestroy(DestroyTask.newBuilder()
                        .setContainerId(containerId)), DESTROY_REQUEST_TIMEOUT));
            } catch (Exception e) {
                LOG.log(Level.INFO, "the guest of ''{0}'' did not destroy its task ({1}); destroying the VM",
                        containerId, e.getMessage());
            }
        }
        tearDownFully();
        exit.complete(Termination.newBuilder().setSignal(SIGKILL).setMessage("the VM was destroyed").build());
    }

    // ---------------------------------------------------------------------------------------------
    // what the guest and QEMU report

    private void onEvent(GuestFrame frame) {
        switch (frame.getBodyCase()) {
            case OUTPUT -> {
                try {
                    logs.append(frame.getOutput());
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "cannot write the output of ''{0}'': {1}", containerId, e.getMessage());
                }
            }
            // Passed on unchanged: a LIMITATION reason and its limitation included.
            case EXITED -> end(frame.getExited().getTermination());
            case EXEC_EXITED -> {
                try {
                    stdio.execExited(frame.getExecExited().getExecId(), frame.getExecExited().getStatus());
                } catch (VesselException e) {
                    LOG.log(Level.WARNING, "the guest of ''{0}'' reports the end of exec ''{1}'': {2}", containerId,
                            frame.getExecExited().getExecId(), e.getMessage());
                }
            }
            // The guest ends the task itself and reports it in its TaskExited.
            case LIMITATION -> LOG.log(Level.INFO, "the guest of ''{0}'' reports a limitation: {1}", containerId,
                    frame.getLimitation().getMessage());
            default -> LOG.log(Level.WARNING, "unexpected event {0} from the guest of ''{1}''", frame.getBodyCase(),
                    containerId);
        }
    }

    private void qemuExited() {
        // What the guest wrote last may still be in the socket: let the channel drain first.
        CompletableFuture.delayedExecutor(DRAIN_MILLIS, TimeUnit.MILLISECONDS)
                .execute(() -> lost("the VM's QEMU process ended without the guest reporting the task's end"
                        + console()));
    }

    private void lost(String why) {
        if (destroying || exit.isDone()) {
            return;
        }
        end(Termination.newBuilder().setReason(TerminationReason.LOST).setMessage(why).build());
    }

    /** Records the end, tears the VM down, then tells the waiters; off the event loop (tearing down closes it). */
    private void end(Termination termination) {
        if (detached || !ending.compareAndSet(false, true)) {
            return; // a duplicate TaskExited after a reconnect, or QEMU's exit behind the guest's report
        }
        Thread.ofVirtual().name("vm-end-" + containerId).start(() -> {
            try {
                if (checkpointSlot != null) {
                    checkpointSlot.save(VmLauncher.CODEC, checkpoint.toBuilder().setTermination(termination).build());
                }
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "cannot checkpoint the end of ''{0}'': {1}", containerId, e.getMessage());
            }
            try {
                tearDown();
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "cannot tear down the VM of ''{0}'': {1}", containerId, e.getMessage());
            }
            exit.complete(termination);
        });
    }

    /** Stops acting on what QEMU and the guest report; the VM is left running. */
    void detach() {
        detached = true;
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * Closes the channel, destroys the domain and waits until QEMU is gone, then removes the socket (and
     * a warm guest's directory with the task's rootfs mount, a pod's share, the task's file binds). Idempotent. libvirt's own destroy may still
     * be finishing (it waits for QEMU to be reaped, slow where PID 1 reaps slowly): the task's end does
     * not wait for that bookkeeping, {@link #destroy} does.
     */
    synchronized void tearDown() {
        if (tornDown) {
            return;
        }
        if (agent != null) {
            agent.close();
        }
        domainDestroyed = libvirt.destroyInBackground(checkpoint.getDomainUuid());
        awaitQemuGone();
        if (logs != null) {
            try {
                logs.close();
            } catch (IOException e) {
                // the logs are complete; nothing to do
            }
        }
        try {
            Files.deleteIfExists(Path.of(checkpoint.getAgentSocket()));
            if (!checkpoint.getPodShare().isEmpty()) {
                PodShare.remove(Path.of(checkpoint.getPodShare()));
            }
            if (!checkpoint.getFileShares().isEmpty()) {
                FileShares.remove(Path.of(checkpoint.getFileShares()));
            }
            if (!checkpoint.getRootfsServer().isEmpty()) {
                RootfsServer.stop(Path.of(checkpoint.getRootfsServer())); // QEMU is gone: the server has no client
            }
            if (!checkpoint.getWarmGuestDir().isEmpty()) {
                WarmGuest.remove(Path.of(checkpoint.getWarmGuestDir()), Path.of(checkpoint.getAgentSocket()),
                        Path.of(checkpoint.getConsoleLog()));
            }
        } catch (IOException e) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "cannot remove what the VM of '" + containerId
                    + "' left on the host: " + e.getMessage(), e);
        }
        tornDown = true;
    }

    /** {@link #tearDown}, then until libvirt has forgotten the domain too: nothing is left when it returns. */
    void tearDownFully() throws InterruptedException {
        tearDown();
        awaitDomainGone();
    }

    /** Until QEMU has exited (its pidfd), or libvirt's destroy has returned where QEMU is not watched. */
    private void awaitQemuGone() {
        CompletableFuture<?> gone = qemu == null ? domainDestroyed : CompletableFuture.anyOf(qemu.exited(), domainDestroyed);
        try {
            gone.get(QEMU_EXIT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            Throwable cause = Failures.unwrap(e);
            throw cause instanceof VesselException ve ? ve : VesselException.internal("vm", cause.getMessage(), cause);
        } catch (TimeoutException e) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "QEMU " + pid() + " of "
                    + checkpoint.getDomainName() + " survived its domain's destruction for "
                    + QEMU_EXIT_TIMEOUT_SECONDS + " s");
        }
    }

    /** Until libvirt's destroy of a torn-down task has returned. */
    private void awaitDomainGone() throws InterruptedException {
        try {
            domainDestroyed.get(QEMU_EXIT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = Failures.unwrap(e);
            throw cause instanceof VesselException ve ? ve : VesselException.internal("vm", cause.getMessage(), cause);
        } catch (TimeoutException e) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "libvirt did not finish destroying "
                    + checkpoint.getDomainName() + " within " + QEMU_EXIT_TIMEOUT_SECONDS + " s");
        }
    }

    /** The connection to the guest, while the task runs (a pod's members send their requests through it). */
    AgentClient agent() {
        if (agent == null || exit.isDone()) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, containerId, "the VM task has ended");
        }
        return agent;
    }

    private String console() {
        return ConsoleTail.of(Path.of(checkpoint.getConsoleLog()));
    }

    /** Waits for a reply; a failure comes out as the VesselException that describes it. */
    static <T> T await(CompletableFuture<T> reply) throws InterruptedException {
        try {
            return reply.get();
        } catch (ExecutionException e) {
            Throwable cause = Failures.unwrap(e);
            throw cause instanceof VesselException ve ? ve : VesselException.internal("agent", cause.getMessage(), cause);
        }
    }
}
