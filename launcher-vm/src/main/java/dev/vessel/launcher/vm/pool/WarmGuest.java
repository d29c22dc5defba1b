package dev.vessel.launcher.vm.pool;

import com.google.protobuf.ByteString;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.Restored;
import dev.vessel.core.agent.WarmUp;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Failures;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.launcher.vm.agent.AgentClient;
import dev.vessel.launcher.vm.domain.ConsoleTail;
import dev.vessel.launcher.vm.domain.QemuProcess;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A guest booted before any task asked for it ({@link WarmPool}): its domain, its QEMU, the agent
 * connection (hello done) and its directory under the run dir's {@code vm-pool/}.
 *
 * <p>The guest's rootfs share is the directory's {@code share/}, made before the domain starts; a task's
 * rootfs is bound onto {@code share/root} when the guest is handed to it. libvirt runs QEMU in a mount
 * namespace of its own, copied from the host's and made a slave of it, so a mount made on the host
 * later reaches QEMU only below a mount that was <em>shared</em> when the copy was made: {@code share/}
 * is therefore a bind mount of itself, marked shared, before the domain exists. (QEMU's 9p server
 * holds the share's top directory open since it started, which is why the rootfs goes one level down.)
 */
public record WarmGuest(String domainName, String uuid, Path dir, Path agentSocket, Path consoleLog, QemuProcess qemu,
        AgentClient agent) {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Makes {@code dir/share/root} and turns {@code dir/share} into a shared mount (see the class comment). */
    public static void prepareShare(Path dir) throws IOException {
        Path share = RuntimePaths.warmGuestShare(dir);
        Files.createDirectories(RuntimePaths.warmGuestRootfs(dir));
        Mounts.mount(share.toString(), share, null, Mounts.MS_BIND, null);
        Mounts.mount(null, share, null, Mounts.MS_SHARED, null);
    }

    /** Binds the task's rootfs where the guest looks for it; QEMU's namespace receives the mount. */
    public static void bindRootfs(Path dir, Path rootfs) throws IOException {
        Mounts.mount(rootfs.toString(), RuntimePaths.warmGuestRootfs(dir), null, Mounts.MS_BIND | Mounts.MS_REC, null);
    }

    /**
     * Unmounts everything below {@code dir} and removes it: what a guest of the pool leaves on the host
     * (its socket, its console, the share's mount points). Entry by entry, never a recursive delete:
     * were the task's rootfs still bound there, a recursive delete would empty it.
     */
    public static void remove(Path dir, Path agentSocket, Path consoleLog) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        Mounts.unmountTree(dir);
        Files.deleteIfExists(agentSocket);
        Files.deleteIfExists(consoleLog);
        Files.deleteIfExists(RuntimePaths.warmGuestRootfs(dir)); // an empty mount point once unmounted
        Files.deleteIfExists(RuntimePaths.warmGuestShare(dir));
        Files.delete(dir); // anything else there is not ours to remove: fails, naming it
    }

    /**
     * Waits for the guest's hello; fails, with the end of the console, when QEMU exits first or the
     * hello does not come in time.
     */
    public void awaitHello(Duration timeout) throws InterruptedException {
        CompletableFuture<?> hello = agent.connect();
        try {
            CompletableFuture.anyOf(hello, qemu.exited()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "vm", "the warm guest " + domainName
                    + " did not say hello within " + timeout.toSeconds() + " s" + ConsoleTail.of(consoleLog));
        } catch (ExecutionException e) {
            // told apart below
        }
        if (!hello.isDone() || hello.isCompletedExceptionally()) {
            String why = hello.isDone() ? Failures.unwrap(hello.exceptionNow()).getMessage() : "QEMU exited";
            throw new VesselException(ErrorCode.INTERNAL, "vm", "the warm guest " + domainName
                    + " did not become ready: " + why + ConsoleTail.of(consoleLog));
        }
    }

    /**
     * Has the guest run a throwaway task of its own through the whole launch path (agent.proto
     * {@code WarmUp}), so that the task it is handed later starts without first-use costs; the 9p shares
     * {@code shareTags} are mounted in it meanwhile, so that the task's launch only binds one.
     */
    public void warmUp(Duration timeout, List<String> shareTags) throws InterruptedException {
        try {
            agent.request(HostFrame.newBuilder().setWarmUp(WarmUp.newBuilder().addAllShareTags(shareTags)), timeout).get();
        } catch (ExecutionException e) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "the warm guest " + domainName
                    + " failed its warm-up: " + Failures.unwrap(e).getMessage() + ConsoleTail.of(consoleLog));
        }
    }

    /**
     * Has a guest restored from a template renew what every clone shares with the template (agent.proto
     * {@code Restored}): its kernel's random state, from 64 fresh bytes of the host's, and its wall clock.
     */
    public void renewIdentity(Duration timeout) throws InterruptedException {
        byte[] entropy = new byte[64];
        RANDOM.nextBytes(entropy);
        Instant now = Instant.now();
        Restored restored = Restored.newBuilder().setEntropy(ByteString.copyFrom(entropy))
                .setHostTimeUnixNanos(now.getEpochSecond() * 1_000_000_000L + now.getNano()).build();
        try {
            agent.request(HostFrame.newBuilder().setRestored(restored), timeout).get();
        } catch (ExecutionException e) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "the guest " + domainName
                    + " restored from a template could not renew its identity: " + Failures.unwrap(e).getMessage()
                    + ConsoleTail.of(consoleLog));
        }
    }

    /** Whether it can still take a task: QEMU runs and the agent's channel is up. */
    boolean isAlive() {
        return !qemu.exited().isDone() && agent.isConnected();
    }
}
