package dev.vessel.launcher.vm;

import dev.vessel.core.agent.DestroyTask;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.GuestMount;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.LaunchTask;
import dev.vessel.core.agent.SignalTask;
import dev.vessel.core.agent.UpdateResources;
import dev.vessel.core.agent.UsageRequest;
import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.vm.RunningVm;
import dev.vessel.launcher.vm.agent.AgentClient;
import dev.vessel.launcher.vm.domain.GuestRootfs;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A VM pod's member: a task of its pod's running guest, keyed there by its container id. It has no
 * domain: its rootfs is bound into the pod's share ({@link PodShare}), its requests (launch, signal,
 * destroy, update, usage, its stdio and execs) go through the pod's agent connection, and it hears the events the guest sends
 * for it ({@code PodListener}). It ends when the guest reports its exit, or as LOST when its pod's VM ends
 * first; its end unbinds its rootfs and leaves the pod running. Its pid is the pod's VM's.
 */
final class PodMemberTask implements LaunchedTask, RunningVm {
    private static final System.Logger LOG = System.getLogger(PodMemberTask.class.getName());
    private static final int SIGKILL = 9;
    private static final Duration DESTROY_REQUEST_TIMEOUT = Duration.ofSeconds(5);

    private final String containerId;
    private final ContainerConfig config;
    private final VmTaskCheckpoint checkpoint;
    private final Checkpoint checkpointSlot;
    private final OutputLogs logs;
    private final Duration requestTimeout;
    private final List<GuestMount> guestMounts;
    private final GuestRootfs rootfs;
    private final CompletableFuture<Termination> exit = new CompletableFuture<>();
    private final AtomicBoolean ending = new AtomicBoolean();
    private final GuestTaskStdio stdio;
    private volatile VmTask pod;
    private volatile boolean detached;

    /**
     * A member whose rootfs is bound in its pod's share; {@link #attach} it to the pod's task next.
     * {@code guestMounts} and {@code rootfs} are what its launch tells the guest (none for a member found
     * again after a restart: it runs already).
     */
    PodMemberTask(String containerId, ContainerConfig config, VmTaskCheckpoint checkpoint, Checkpoint checkpointSlot,
            OutputLogs logs, Duration requestTimeout, List<GuestMount> guestMounts, GuestRootfs rootfs) {
        this.containerId = containerId;
        this.config = config;
        this.checkpoint = checkpoint;
        this.checkpointSlot = checkpointSlot;
        this.logs = logs;
        this.requestTimeout = requestTimeout;
        this.guestMounts = List.copyOf(guestMounts);
        this.rootfs = rootfs;
        this.stdio = new GuestTaskStdio(containerId, this::agent, requestTimeout, exit);
    }

    /** Hears the guest's events for this member from now on; the pod's end is this member's too. */
    void attach(VmTask podTask) {
        this.pod = podTask;
        podTask.podListener().orElseThrow().register(containerId, this::onEvent);
        podTask.exit().whenComplete((t, e) -> end(Termination.newBuilder().setReason(TerminationReason.LOST)
                .setMessage("its pod's VM ended").build()));
    }

    String containerId() {
        return containerId;
    }

    String podId() {
        return checkpoint.getPodId();
    }

    @Override
    public long pid() {
        VmTask p = pod;
        return p == null ? 0 : p.pid();
    }

    /** Has the pod's guest run the member from its rootfs in the pod's share. */
    @Override
    public void release() throws Exception {
        LaunchTask launch = LaunchTask.newBuilder().setContainerId(containerId).setConfig(config)
                .setRootfsTag(rootfs.tag()).setRootfsPath(containerId).addAllMounts(guestMounts).build();
        GuestFrame reply = stdio.launch(launch);
        if (!reply.hasStarted()) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "the pod's guest answered the launch with "
                    + reply.getBodyCase() + " instead of started");
        }
        stdio.released();
    }

    /** A member found again after a restart: the guest has run it long ago. */
    void releasedBefore() {
        stdio.released();
    }

    /** The member's stdio and execs, through its pod's guest. */
    GuestTaskStdio stdio() {
        return stdio;
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
        VmTask.await(agent().request(HostFrame.newBuilder().setSignal(SignalTask.newBuilder()
                .setContainerId(containerId).setSignal(signal)), requestTimeout));
    }

    @Override
    public void update(Resources resources) throws Exception {
        VmTask.await(agent().request(HostFrame.newBuilder().setUpdate(UpdateResources.newBuilder()
                .setContainerId(containerId).setResources(resources)), requestTimeout));
    }

    @Override
    public ResourceStatistics usage() throws Exception {
        return VmTask.await(agent().request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder()
                .setContainerId(containerId)), requestTimeout)).getUsage();
    }

    /** Has the pod's guest kill and forget the member (briefly: the pod's VM may be gone), then ends it. */
    @Override
    public void destroy() throws Exception {
        VmTask p = pod;
        if (!exit.isDone() && p != null && !p.exit().isDone()) {
            try {
                VmTask.await(p.agent().request(HostFrame.newBuilder().setDestroy(DestroyTask.newBuilder()
                        .setContainerId(containerId)), DESTROY_REQUEST_TIMEOUT));
            } catch (Exception e) {
                LOG.log(Level.INFO, "the pod''s guest did not destroy member ''{0}'': {1}", containerId, e.getMessage());
            }
        }
        Termination killed = Termination.newBuilder().setSignal(SIGKILL).setMessage("destroyed").build();
        if (ending.compareAndSet(false, true)) {
            finish(killed);
        }
        exit.join();
    }

    /** Stops acting on what the guest reports; the member runs on for a restarted daemon to find. */
    void detach() {
        detached = true;
    }

    private void onEvent(GuestFrame frame) {
        switch (frame.getBodyCase()) {
            case OUTPUT -> {
                try {
                    logs.append(frame.getOutput());
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "cannot write the output of ''{0}'': {1}", containerId, e.getMessage());
                }
            }
            case EXITED -> end(frame.getExited().getTermination());
            case EXEC_EXITED -> {
                try {
                    stdio.execExited(frame.getExecExited().getExecId(), frame.getExecExited().getStatus());
                } catch (VesselException e) {
                    LOG.log(Level.WARNING, "the guest reports the end of exec ''{0}'' of member ''{1}'': {2}",
                            frame.getExecExited().getExecId(), containerId, e.getMessage());
                }
            }
            default -> LOG.log(Level.WARNING, "unexpected event {0} for member ''{1}''", frame.getBodyCase(), containerId);
        }
    }

    /** The first end reported wins; recorded and cleaned off the caller's thread (an event loop's, maybe). */
    private void end(Termination termination) {
        if (detached || !ending.compareAndSet(false, true)) {
            return;
        }
        Thread.ofVirtual().name("vm-member-end-" + containerId).start(() -> finish(termination));
    }

    /** Checkpoints the end, unbinds the rootfs, closes the logs, then tells the waiters. */
    private void finish(Termination termination) {
        try {
            checkpointSlot.save(VmLauncher.CODEC, checkpoint.toBuilder().setTermination(termination).build());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cannot checkpoint the end of ''{0}'': {1}", containerId, e.getMessage());
        }
        VmTask p = pod;
        if (p != null) {
            p.podListener().ifPresent(l -> l.unregister(containerId));
        }
        try {
            PodShare.unbind(Path.of(checkpoint.getPodShare()), containerId);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.ERROR, "cannot unbind the rootfs of member ''{0}'': {1}", containerId, e.getMessage());
        }
        try {
            if (logs != null) {
                logs.close();
            }
        } catch (IOException e) {
            // the logs are complete
        }
        exit.complete(termination);
    }

    private AgentClient agent() {
        VmTask p = pod;
        if (p == null || exit.isDone()) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, containerId, "the pod member's task has ended");
        }
        return p.agent();
    }
}
