package dev.vessel.guest;

import dev.vessel.core.agent.Error;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.LaunchTask;
import dev.vessel.core.agent.Ok;
import dev.vessel.core.agent.OpenStream;
import dev.vessel.core.agent.Pong;
import dev.vessel.core.agent.Restored;
import dev.vessel.core.agent.SignalTask;
import dev.vessel.core.agent.StartExec;
import dev.vessel.core.agent.TaskStarted;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Failures;
import dev.vessel.core.error.VesselException;
import dev.vessel.linux.GuestIdentity;
import java.io.IOException;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Answers the host's requests: each gets exactly one reply with its request id, the reply or an
 * error naming the request's field that is wrong. Pings are answered at once; everything else waits
 * for the guest node, which is built in the background while the agent says hello.
 */
final class Requests {
    /**
     * LaunchTask's own fields (besides {@code mounts[i]…} and {@code interfaces[i]…}); any other field
     * a launch is refused for lies inside its config.
     */
    private static final Set<String> LAUNCH_FIELDS = Set.of("container_id", "rootfs_tag", "rootfs_path", "config");
    private static final Ok OK = Ok.getDefaultInstance();
    /** What a restored guest's reseed takes at the least: the kernel's CRNG key is 32 bytes. */
    private static final int MIN_ENTROPY_BYTES = 32;

    private final CompletableFuture<GuestTasks> node;

    Requests(CompletableFuture<GuestTasks> node) {
        this.node = node;
    }

    /** A guest restored from a template: a random state and a wall clock of its own (agent.proto {@code Restored}). */
    private static void renewIdentity(Restored restored) throws IOException {
        if (restored.getEntropy().size() < MIN_ENTROPY_BYTES) {
            throw VesselException.invalid("entropy", restored.getEntropy().size() + " bytes, fewer than "
                    + MIN_ENTROPY_BYTES);
        }
        GuestIdentity.reseedRandom(restored.getEntropy().toByteArray());
        long nanos = restored.getHostTimeUnixNanos();
        GuestIdentity.stepClock(Instant.ofEpochSecond(Math.floorDiv(nanos, 1_000_000_000L),
                Math.floorMod(nanos, 1_000_000_000L)));
    }

    /** Answers {@code request}; an open_stream's process is registered with the connection's {@code streams}. */
    GuestFrame handle(HostFrame request, GuestStreams streams) {
        GuestFrame.Builder reply = GuestFrame.newBuilder().setRequestId(request.getRequestId());
        try {
            if (request.getRequestId() == 0) {
                throw VesselException.invalid("request_id", "a request needs an id above 0");
            }
            switch (request.getBodyCase()) {
                case PING -> reply.setPong(Pong.newBuilder().setUptimeMillis(Uptime.millis()));
                case LAUNCH -> reply.setStarted(TaskStarted.newBuilder().setPid(launch(request.getLaunch(), streams)));
                case SIGNAL -> {
                    SignalTask signal = request.getSignal();
                    if (signal.getExecId().isEmpty()) {
                        tasks().signal(signal.getContainerId(), signal.getSignal());
                    } else {
                        tasks().signalExec(signal.getContainerId(), signal.getExecId(), signal.getSignal());
                    }
                    reply.setOk(OK);
                }
                case OPEN_STREAM -> {
                    OpenStream open = request.getOpenStream();
                    streams.register(open.getStreamId(), tasks().openStdio(open.getContainerId(), open.getExecId()));
                    reply.setOk(OK);
                }
                case EXEC -> {
                    StartExec exec = request.getExec();
                    if (exec.getRecover()) {
                        tasks().findExec(exec.getContainerId(), exec.getExecId());
                    } else if (exec.getStreamId() == 0) {
                        tasks().exec(exec.getContainerId(), exec.getExecId(), exec.getConfig(), false);
                    } else {
                        streams.requireFree(exec.getStreamId()); // before the process runs: a refusal starts nothing
                        streams.register(exec.getStreamId(),
                                tasks().exec(exec.getContainerId(), exec.getExecId(), exec.getConfig(), true));
                    }
                    reply.setOk(OK);
                }
                case DESTROY -> {
                    tasks().destroy(request.getDestroy().getContainerId());
                    reply.setOk(OK);
                }
                case UPDATE -> {
                    tasks().update(request.getUpdate().getContainerId(), request.getUpdate().getResources());
                    reply.setOk(OK);
                }
                case USAGE -> reply.setUsage(tasks().usage(request.getUsage().getContainerId()));
                case WARM_UP -> {
                    tasks().warmUp(request.getWarmUp().getShareTagsList());
                    reply.setOk(OK);
                }
                case RESTORED -> {
                    renewIdentity(request.getRestored());
                    reply.setOk(OK);
                }
                case HELLO_ACK, STDIO, CLOSE_STREAM, CREDIT, BODY_NOT_SET -> throw VesselException.invalid("body",
                        "expected a request: ping, launch, signal, destroy, update, usage, warm_up, restored, "
                                + "open_stream or exec");
            }
        } catch (VesselException e) {
            reply.setError(Error.newBuilder().setField(e.field().orElse("")).setMessage(e.getMessage())
                    .setCode(e.code().name()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            reply.setError(Error.newBuilder().setMessage("interrupted"));
        } catch (Exception e) {
            reply.setError(Error.newBuilder().setMessage(String.valueOf(e.getMessage())));
        }
        return reply.build();
    }

    /** Launches the task; with a stream id, its stdio attached before its start is that stream's. */
    private long launch(LaunchTask launch, GuestStreams streams) {
        try {
            if (launch.getStreamId() == 0) {
                return tasks().launch(launch, false).pid();
            }
            streams.requireFree(launch.getStreamId()); // before the task runs: a refusal starts nothing
            GuestTasks.Launched launched = tasks().launch(launch, true);
            streams.register(launch.getStreamId(), launched.stdio());
            return launched.pid();
        } catch (VesselException e) {
            String field = e.field().orElse(null);
            if (e.code() == ErrorCode.INVALID_ARGUMENT && field != null && !LAUNCH_FIELDS.contains(field)
                    && !field.startsWith("mounts[") && !field.startsWith("interfaces[")) {
                throw new VesselException(e.code(), "config." + field, e.getMessage(), e);
            }
            throw e;
        }
    }

    private GuestTasks tasks() {
        try {
            return node.join();
        } catch (RuntimeException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, null,
                    "the guest's containerizer did not start: " + Failures.unwrap(e).getMessage(), e);
        }
    }
}
