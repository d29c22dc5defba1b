package dev.vessel.launcher.vm;

import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.VmNic;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Launches VM containers: each task runs in its own transient libvirt domain that direct-boots the
 * guest kernel and initramfs, whose guest agent runs the task (agent.proto over a virtio-serial
 * channel). {@code fork} returns once the agent said hello; {@code release} has it start the task.
 *
 * <p>Nothing is created before the request is checked; the checkpoint (domain name, uuid, socket)
 * is written before the domain exists, so a crash at any point leaves something to find again.
 * Domains carry Vessel's metadata with this daemon's state dir: {@link #removeOrphans} destroys only
 * its own. They run in Vessel's cgroup partition, made before each domain and removed, once no
 * domain is left in it, by {@link #removeOrphans} and {@link #close}.
 */
public final class VmLauncher implements Launcher, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VmLauncher.class.getName());
    static final ProtoCodec<VmTaskCheckpoint> CODEC = ProtoCodec.of(1, VmTaskCheckpoint.parser());

    private final RuntimePaths paths;
    private final VmLauncherConfig config;
    private final Accelerator accelerator;
    private final LibvirtDomains libvirt;
    private final CgroupPartition cgroupPartition;
    private final EventLoopGroup agentLoop;
    private final Map<String, VmTask> running = new ConcurrentHashMap<>();

    public VmLauncher(RuntimePaths paths, VmLauncherConfig config) {
        this.paths = paths;
        this.config = config;
        this.accelerator = config.accelerator().resolve();
        this.libvirt = new LibvirtDomains(config.libvirtUri());
        this.cgroupPartition = CgroupPartition.of(config.cgroupPartition());
        // One thread serves every guest's channel: the traffic is small frames.
        this.agentLoop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @Override
    public String name() {
        return "vm";
    }

    @Override
    public Isolation isolation() {
        return Isolation.VM;
    }

    public VmLauncherConfig config() {
        return config;
    }

    /** KVM or TCG, as resolved for this host. */
    public Accelerator accelerator() {
        return accelerator;
    }

    /** The task of a container whose VM runs now (for the host-side isolators: update, usage). */
    public Optional<VmTask> runningTask(String containerId) {
        return Optional.ofNullable(running.get(containerId));
    }

    @Override
    public LaunchedTask fork(LaunchPlan plan) throws Exception {
        ContainerContext container = plan.container();
        VmSpec spec = VmSpec.from(plan, config, paths, accelerator); // refuses a bad request first
        Files.createDirectories(spec.agentSocket().getParent());
        Files.deleteIfExists(spec.agentSocket());
        VmTaskCheckpoint checkpoint = VmTaskCheckpoint.newBuilder()
                .setDomainName(spec.domainName())
                .setDomainUuid(spec.uuid().toString())
                .setAgentSocket(spec.agentSocket().toString())
                .setConsoleLog(spec.consoleLog().toString())
                .build();
        container.checkpoint().save(CODEC, checkpoint);

        VmTask task = null;
        OutputLogs logs = null;
        try {
            cgroupPartition.ensure();
            libvirt.create(DomainXml.render(spec));
            logs = outputLogs(container);
            task = newTask(container, checkpoint, logs,
                    plan.launchInfo().getVm().getNicsList().stream().map(VmNic::getGuest).toList());
            task.handshake(config.helloTimeout());
        } catch (Exception | Error e) {
            undo(checkpoint, task, logs, container, e);
            throw e;
        }
        track(task);
        return task;
    }

    /** Leaves nothing behind a failed fork: no domain, no socket, no checkpoint. */
    private void undo(VmTaskCheckpoint checkpoint, VmTask task, OutputLogs logs, ContainerContext container,
            Throwable failure) {
        try {
            if (task != null) {
                task.tearDown();
            } else {
                libvirt.destroy(checkpoint.getDomainUuid());
                if (logs != null) {
                    logs.close();
                }
                Files.deleteIfExists(Path.of(checkpoint.getAgentSocket()));
            }
            container.checkpoint().delete();
        } catch (Exception | Error e) {
            failure.addSuppressed(e);
        }
    }

    @Override
    public Optional<LaunchedTask> recover(ContainerContext container) throws Exception {
        Optional<VmTaskCheckpoint> saved = container.checkpoint().load(CODEC);
        if (saved.isEmpty()) {
            return Optional.empty(); // the crash came before the checkpoint: no domain was created
        }
        VmTaskCheckpoint checkpoint = saved.get();
        if (isOurs(checkpoint, container.containerId()) && libvirt.isActive(checkpoint.getDomainUuid())) {
            VmTask task = newTask(container, checkpoint, outputLogs(container), List.of());
            try {
                task.handshake(config.helloTimeout()); // the guest then re-sends an exit we missed
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "the VM of ''{0}'' runs but its agent cannot be reached; destroying it: {1}",
                        container.containerId(), e.getMessage());
                task.tearDown();
                return Optional.of(VmTask.ended(container.containerId(), checkpoint, libvirt,
                        Termination.newBuilder().setReason(TerminationReason.LOST)
                                .setMessage("after a restart the VM's agent could not be reached: " + e.getMessage())
                                .build()));
            }
            track(task);
            return Optional.of(task);
        }
        // The domain is gone (or was never created): its end is known if the guest reported it.
        VmTask gone = VmTask.ended(container.containerId(), checkpoint, libvirt, checkpoint.getTermination());
        gone.tearDown(); // a stale socket may remain
        return checkpoint.hasTermination() ? Optional.of(gone) : Optional.empty();
    }

    /** The domain with the checkpointed uuid is this daemon's and this container's. */
    private boolean isOurs(VmTaskCheckpoint checkpoint, String containerId) {
        return libvirt.metadata(checkpoint.getDomainUuid())
                .filter(m -> m.containerId().equals(containerId) && m.stateDir().equals(paths.stateDir().toString()))
                .isPresent();
    }

    /**
     * Destroys every domain of this daemon (by state dir) whose container is not live, then removes the
     * cgroup partition if no domain is left in it.
     */
    @Override
    public void removeOrphans(Set<String> liveContainerIds) {
        String stateDir = paths.stateDir().toString();
        for (LibvirtDomains.Found domain : libvirt.vesselDomains()) {
            if (domain.metadata().stateDir().equals(stateDir) && !liveContainerIds.contains(domain.metadata().containerId())) {
                LOG.log(Level.INFO, "destroying domain {0}: its container ''{1}'' is gone", domain.name(),
                        domain.metadata().containerId());
                libvirt.destroy(domain.uuid());
            }
        }
        cgroupPartition.removeIfEmpty();
    }

    private void track(VmTask task) {
        running.put(task.containerId(), task);
        task.exit().whenComplete((t, e) -> running.remove(task.containerId(), task));
    }

    private OutputLogs outputLogs(ContainerContext container) throws java.io.IOException {
        return new OutputLogs(paths.stdoutLog(container.containerDir()), paths.stderrLog(container.containerDir()));
    }

    /** The task of the domain {@code checkpoint} names, whose QEMU runs now; not yet connected. */
    private VmTask newTask(ContainerContext container, VmTaskCheckpoint checkpoint, OutputLogs logs,
            List<GuestInterface> interfaces) throws Exception {
        return new VmTask(new VmTask.Parts(container.containerId(), container.config(), checkpoint,
                container.checkpoint(), libvirt, QemuProcess.of(checkpoint.getDomainName()), logs,
                config.requestTimeout(), interfaces), agentLoop,
                new AgentClient.Timing(config.heartbeatInterval(), config.silenceLimit()));
    }

    /**
     * Closes the libvirt connection and the agent channels; the VMs keep running (a restart finds them),
     * and so does the cgroup partition while any of them is in it.
     */
    @Override
    public void close() {
        running.values().forEach(VmTask::detach);
        running.clear();
        agentLoop.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        libvirt.close();
        cgroupPartition.removeIfEmpty();
    }
}
