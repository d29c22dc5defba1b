package dev.vessel.launcher.vm;

import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.LaunchTask;
import dev.vessel.core.agent.SignalTask;
import dev.vessel.core.agent.StartExec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Termination;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ExecPlan;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.launcher.vm.agent.AgentClient;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The stdio and the execs of one task of a guest, keyed there by its container id: a VM task's own, or a VM
 * pod's member's on its pod's guest (whose agent it then borrows). Streams go through the agent's channel;
 * the ends of execs come as the guest's ExecExited events, which the task's listener passes here.
 */
final class GuestTaskStdio {
    /** An exec still running when its task ended was killed with it: SIGKILL, as a shell reports it. */
    private static final int KILLED_WITH_TASK = 128 + 9;
    /** The most execs whose exits a task keeps: the guest is not trusted to name only real ones. */
    private static final int MAX_EXECS = 4096;

    private final String containerId;
    private final Supplier<AgentClient> agent;
    private final Duration requestTimeout;
    private final CompletableFuture<Termination> exit;
    /**
     * The ends of the task's execs, by exec id, as the guest reports them: kept from the first word of
     * them (an exec started here, or a report re-sent to a restarted daemon before it asks).
     */
    private final Map<String, CompletableFuture<Integer>> execExits = new ConcurrentHashMap<>();
    /** The guest runs the task (its launch answered): its stdio can be attached to from then on. */
    private final CompletableFuture<Void> released = new CompletableFuture<>();
    /**
     * The stream of the one client attached before the release (run -it): the guest attaches it between the
     * task's creation and its start, so that nothing it prints is missed. Taken by that attach (guarded by this).
     */
    private final CompletableFuture<StdioChannel> launchStream = new CompletableFuture<>();
    private boolean launchStreamTaken;
    private boolean releasing;

    /** {@code agent} refuses once the task has ended; {@code exit} is the task's end. */
    GuestTaskStdio(String containerId, Supplier<AgentClient> agent, Duration requestTimeout,
            CompletableFuture<Termination> exit) {
        this.containerId = containerId;
        this.agent = agent;
        this.requestTimeout = requestTimeout;
        this.exit = exit;
        exit.whenComplete((t, e) -> {
            execExits.values().forEach(x -> x.complete(KILLED_WITH_TASK));
            VesselException notStarted = new VesselException(ErrorCode.FAILED_PRECONDITION, containerId,
                    "the VM task ended before it started");
            released.completeExceptionally(notStarted);
            launchStream.completeExceptionally(notStarted);
        });
    }

    /**
     * Has the guest launch the task, with the stream of a client that attached before (run -it) opened by
     * the guest before the task starts; the guest's reply. {@link #released} follows once it says started.
     */
    GuestFrame launch(LaunchTask launch) throws Exception {
        boolean attached;
        synchronized (this) {
            releasing = true;
            attached = launchStreamTaken;
        }
        if (!attached) {
            return VmTask.await(agent.get().request(HostFrame.newBuilder().setLaunch(launch), requestTimeout));
        }
        try {
            AgentClient.Opened opened = VmTask.await(agent.get().launchAttached(launch, requestTimeout));
            launchStream.complete(opened.stream());
            return opened.reply();
        } catch (Exception e) {
            launchStream.completeExceptionally(e);
            throw e;
        }
    }

    /** The guest runs the task (its launch answered started, or it was found again after a restart). */
    void released() {
        synchronized (this) {
            releasing = true;
        }
        released.complete(null);
    }

    /**
     * The task's stdio, through the guest: its last frame is the task's EXIT. Before its start (run -it
     * attaches first) the stream opens once the guest runs the task, so nothing it prints is missed.
     */
    StdioChannel attach() throws Exception {
        CompletableFuture<Integer> status = exit.thenApply(VmTask::shellStatus);
        synchronized (this) {
            if (!releasing && !launchStreamTaken) {
                agent.get(); // an ended task is refused now
                launchStreamTaken = true;
                return new ProcessStdio(new DeferredStdio(launchStream), status);
            }
        }
        if (released.isDone()) {
            return openStdio("", status);
        }
        agent.get(); // an ended task is refused now; a second early client gets what the task prints once it runs
        return new ProcessStdio(new DeferredStdio(released.thenCompose(started ->
                agent.get().openStream(containerId, "", requestTimeout))), status);
    }

    /** A stream on the stdio of the task ({@code execId} empty) or of one of its execs, which ends with {@code status}. */
    StdioChannel openStdio(String execId, CompletableFuture<Integer> status) throws Exception {
        StdioChannel stream = VmTask.await(agent.get().openStream(containerId, execId, requestTimeout));
        return new ProcessStdio(stream, status);
    }

    /**
     * Has the guest run a process in the task's container; returns once it runs. With {@code attach}, the
     * guest opened a stream on its stdio before it ran: nothing it printed is missed.
     */
    AttachedExec exec(ExecPlan plan, boolean attach) throws Exception {
        String execId = plan.execId();
        CompletableFuture<Integer> end = execExit(execId); // before asking: its end may follow the ok at once
        StartExec exec = StartExec.newBuilder().setContainerId(containerId).setExecId(execId)
                .setConfig(plan.config()).build();
        StdioChannel stdio = null;
        try {
            if (attach) {
                stdio = new ProcessStdio(VmTask.await(agent.get().execAttached(exec, requestTimeout)), end);
            } else {
                VmTask.await(agent.get().request(HostFrame.newBuilder().setExec(exec), requestTimeout));
            }
        } catch (Exception e) {
            execExits.remove(execId, end);
            throw e;
        }
        return new AttachedExec(new VmExec(this, execId, end), stdio);
    }

    /** After a restart: the exec the guest still knows (running, or with its end re-sent); empty when it does not. */
    Optional<ExecutedProcess> recoverExec(ExecPlan plan) throws Exception {
        String execId = plan.execId();
        CompletableFuture<Integer> end = execExit(execId);
        if (!end.isDone()) {
            try {
                VmTask.await(agent.get().request(HostFrame.newBuilder().setExec(StartExec.newBuilder()
                        .setContainerId(containerId).setExecId(execId).setRecover(true)), requestTimeout));
            } catch (VesselException e) {
                if (e.code() != ErrorCode.INVALID_ARGUMENT || !e.field().orElse("").equals("exec_id")) {
                    throw e;
                }
                execExits.remove(execId, end);
                return Optional.empty(); // the guest never started it: the daemon died between record and start
            }
        }
        return Optional.of(new VmExec(this, execId, end));
    }

    void signalExec(String execId, int signal) throws Exception {
        VmTask.await(agent.get().request(HostFrame.newBuilder().setSignal(SignalTask.newBuilder()
                .setContainerId(containerId).setExecId(execId).setSignal(signal)), requestTimeout));
    }

    /** The guest's report of an exec's end (an ExecExited event about this task). */
    void execExited(String execId, int status) {
        execExit(execId).complete(status);
    }

    /** The end of exec {@code execId}, known or to come. */
    private CompletableFuture<Integer> execExit(String execId) {
        CompletableFuture<Integer> end = execExits.get(execId);
        if (end != null) {
            return end;
        }
        if (execExits.size() >= MAX_EXECS) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, containerId, "the VM task has "
                    + MAX_EXECS + " execs already");
        }
        end = execExits.computeIfAbsent(execId, id -> new CompletableFuture<>());
        if (exit.isDone()) {
            end.complete(KILLED_WITH_TASK);
        }
        return end;
    }
}
