package dev.vessel.launcher.vm;

import dev.vessel.core.agent.GuestMount;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.fault.FaultPoints;
import dev.vessel.core.model.CloudInit;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.VmMachine;
import dev.vessel.core.model.VmNic;
import dev.vessel.core.paths.DirectoryEntries;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ExecPlan;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.core.vm.RunningVm;
import dev.vessel.core.vm.RunningVms;
import dev.vessel.core.vm.VmSizing;
import dev.vessel.launcher.vm.agent.AgentClient;
import dev.vessel.launcher.vm.domain.Accelerator;
import dev.vessel.launcher.vm.domain.CgroupPartition;
import dev.vessel.launcher.vm.domain.DomainMetadata;
import dev.vessel.launcher.vm.domain.DomainNames;
import dev.vessel.launcher.vm.domain.DomainXml;
import dev.vessel.launcher.vm.domain.GuestRootfs;
import dev.vessel.launcher.vm.domain.LibvirtDomains;
import dev.vessel.launcher.vm.domain.LiveDiskSnapshots;
import dev.vessel.launcher.vm.domain.MachineDomainXml;
import dev.vessel.launcher.vm.domain.MachineSpec;
import dev.vessel.launcher.vm.domain.QemuAccess;
import dev.vessel.launcher.vm.domain.QemuProcess;
import dev.vessel.launcher.vm.domain.VmSpec;
import dev.vessel.launcher.vm.domain.VmVolumes;
import dev.vessel.launcher.vm.machine.MachineDisk;
import dev.vessel.launcher.vm.machine.NoCloudSeed;
import dev.vessel.launcher.vm.pool.WarmGuest;
import dev.vessel.launcher.vm.pool.WarmPool;
import dev.vessel.launcher.vm.template.GuestTemplate;
import dev.vessel.launcher.vm.template.GuestTemplates;
import dev.vessel.launcher.vm.template.TemplateMigration;
import dev.vessel.launcher.vm.template.TemplateWrapper;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import dev.vessel.linux.PosixAcls;
import dev.vessel.linux.ProcessMemory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
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
 *
 * <p>A VM pod is one domain whose guest runs the pod's pause and then a task per member: a member
 * defines no domain, its rootfs is bound into the pod's share and its launch goes to the pod's guest
 * ({@link PodMemberTask}).
 */
public final class VmLauncher implements Launcher, RunningVms, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(VmLauncher.class.getName());
    /** How long a warm pool waits for the first guest template (≈ a minute under TCG, seconds with KVM). */
    private static final Duration FIRST_TEMPLATE_WAIT = Duration.ofMinutes(3);
    /**
     * What a pool guest mounts during its warm-up, so that its task's launch only binds it: both exports of its
     * share (a task's rootfs needs one or the other). A template's guest mounts none: it is to be saved.
     */
    private static final List<String> POOL_SHARES = List.of(GuestRootfs.SHARE.tag(), GuestRootfs.PASSTHROUGH_SHARE.tag());
    static final ProtoCodec<VmTaskCheckpoint> CODEC = ProtoCodec.of(1, VmTaskCheckpoint.parser());

    private final RuntimePaths paths;
    private final VmLauncherConfig config;
    private final Accelerator accelerator;
    private final QemuUser qemuUser;
    private final QemuAccess qemuAccess;
    private final VmSpecResolver specs;
    private final LibvirtDomains libvirt;
    private final CgroupPartition cgroupPartition;
    private final EventLoopGroup agentLoop;
    private final Map<String, VmTask> running = new ConcurrentHashMap<>();
    /** The VM pods' members that run now, by container id. */
    private final Map<String, PodMemberTask> members = new ConcurrentHashMap<>();
    /**
     * Members found again at recovery before their pod (recovery goes children first), by pod id: attached
     * when the pod's task is found again, ended when it is not.
     */
    private final Map<String, List<PodMemberTask>> awaitingPod = new ConcurrentHashMap<>();
    /** A full VM that runs now, and its disk, whose snapshots its QEMU takes. */
    private record RunningMachine(MachineTask task, LiveDiskSnapshots disk) {
    }

    /** The full VMs that run now, by container id. */
    private final Map<String, RunningMachine> runningMachines = new ConcurrentHashMap<>();
    /** Guests booted ahead of demand; null until {@link #startWarmPool}. */
    private volatile WarmPool pool;
    /** The guest template tasks are restored from; null until {@link #startTemplates}. */
    private volatile GuestTemplates templates;

    public VmLauncher(RuntimePaths paths, VmLauncherConfig config) {
        this.paths = paths;
        this.config = config;
        this.accelerator = config.accelerator().resolve();
        this.qemuUser = hostQemuUser();
        this.qemuAccess = new QemuAccess(qemuUser, paths.stateDir(), paths.runDir());
        this.cgroupPartition = CgroupPartition.of(config.cgroupPartition());
        this.specs = new VmSpecResolver(config, paths, accelerator, qemuUser, cgroupPartition);
        this.libvirt = new LibvirtDomains(config.libvirtUri());
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

    /** The unprivileged user libvirt runs this launcher's QEMUs as. */
    public QemuUser qemuUser() {
        return qemuUser;
    }

    private static QemuUser hostQemuUser() {
        try {
            return QemuUser.ofHost();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run VMs here: " + e.getMessage(), e);
        }
    }

    /** KVM or TCG, as resolved for this host. */
    public Accelerator accelerator() {
        return accelerator;
    }

    /** The task of a container whose VM runs now (for the host-side isolators: update, usage). */
    @Override
    public Optional<RunningVm> runningTask(String containerId) {
        VmTask task = running.get(containerId);
        if (task != null) {
            return Optional.of(task);
        }
        PodMemberTask member = members.get(containerId);
        if (member != null) {
            return Optional.of(member);
        }
        return Optional.ofNullable(runningMachines.get(containerId)).map(RunningMachine::task);
    }

    /**
     * The pty of a running full VM's serial console (its boot messages and getty), for a user to attach
     * to; empty when the container runs no VM of this daemon's, or one without such a console.
     */
    public Optional<Path> serialConsole(String containerId) {
        String stateDir = paths.stateDir().toString();
        return libvirt.vesselDomains().stream()
                .filter(d -> d.metadata().containerId().equals(containerId) && d.metadata().stateDir().equals(stateDir))
                .findFirst()
                .flatMap(d -> libvirt.serialPty(d.uuid()));
    }

    /**
     * The snapshots of the disk of a container's full VM while its QEMU runs (and holds the disk); empty
     * when that container has no running machine.
     */
    public Optional<LiveDiskSnapshots> runningMachineDisk(String containerId) {
        return Optional.ofNullable(runningMachines.get(containerId)).map(RunningMachine::disk);
    }

    /**
     * Keeps {@code size} guests booted ahead of demand from now on (see {@link WarmPool}), each of the
     * size a task without resources gets: {@link VmSizing#DEFAULT_MEMORY_BYTES}, one vCPU.
     * Call after recovery.
     */
    public synchronized void startWarmPool(int size) {
        long memoryBytes = VmSizing.DEFAULT_MEMORY_BYTES;
        int vcpus = 1;
        if (pool != null) {
            throw new IllegalStateException("the warm pool is running already");
        }
        pool = new WarmPool(size, memoryBytes, vcpus, new WarmPool.Booter() {
            @Override
            public WarmGuest boot(long memory, int cpus) throws Exception {
                return makeWarmGuest(memory, cpus);
            }

            @Override
            public void discard(WarmGuest guest) {
                discardWarmGuest(guest);
            }
        });
        pool.start();
    }

    /** How many warm guests wait for a task now (0 without a pool). */
    public int warmGuestsReady() {
        WarmPool warm = pool;
        return warm == null ? 0 : warm.readyCount();
    }

    /** What the waiting warm guests hold of the host's memory (none without a pool). */
    public ProcessMemory warmGuestsMemory() {
        WarmPool warm = pool;
        return warm == null ? ProcessMemory.NONE : warm.idleMemory();
    }

    /**
     * Keeps a guest template from now on (see {@link GuestTemplates}), of the size a warm guest has: VM tasks that
     * fit it are restored from it instead of booting. Removes the templates an earlier daemon left. Call after
     * recovery.
     */
    public synchronized void startTemplates() throws IOException {
        if (templates != null) {
            throw new IllegalStateException("guest templates are kept already");
        }
        removeTemplatesLeft(); // an earlier daemon's (the recovery's sweep removed them already, if it ran)
        Path qemu = libvirt.emulator();
        TemplateWrapper.install(paths.vmTemplateWrapper(), qemu);
        qemuUser.allowSearch(paths.stateDir(), paths.vmTemplatesDir());
        templates = new GuestTemplates(VmSizing.DEFAULT_MEMORY_BYTES, 1, new GuestTemplates.Builder() {
            @Override
            public String inputs() throws IOException {
                Path dir = paths.warmGuestDir("inputs"); // never made: the spec only names it
                return GuestTemplate.inputsOf(specs.forWarmGuest("inputs", dir, dir, VmSizing.DEFAULT_MEMORY_BYTES, 1),
                        qemu, paths.vmTemplateWrapper());
            }

            @Override
            public GuestTemplate build(String inputs, long memoryBytes, int vcpus) throws Exception {
                return buildTemplate(inputs, memoryBytes, vcpus);
            }

            @Override
            public void discard(GuestTemplate template) {
                try {
                    removeTemplateDir(template.dir());
                } catch (IOException e) {
                    throw new VesselException(ErrorCode.INTERNAL, "vm", "cannot remove the guest template "
                            + template.dir() + ": " + e.getMessage(), e);
                }
            }
        });
        templates.start();
    }

    /** The guest template in use, if one is built (none without templates). */
    public Optional<GuestTemplate> guestTemplate() {
        GuestTemplates kept = templates;
        return kept == null ? Optional.empty() : kept.current();
    }

    @Override
    public LaunchedTask fork(LaunchPlan plan) throws Exception {
        ContainerContext container = plan.container();
        if (container.config().getVm().hasMachine()) {
            return forkMachine(plan);
        }
        if (container.config().getPod()) {
            return forkPod(plan);
        }
        if (!container.config().getParentId().isEmpty()) {
            return forkMember(plan);
        }
        VmSpec spec = specs.forTask(plan); // refuses a bad request first
        try {
            FileShares.bind(spec.volumes().files()); // before QEMU's user is let into their directories
            qemuAccess.prepare(spec);
            if (!spec.rootfsMapped()) {
                spec.volumes().makeMountPointsIn(spec.rootfs(), container.config().getReadOnlyRootfs());
            }
            WarmPool warm = pool;
            Optional<WarmGuest> guest = warm == null ? Optional.empty() : warm.take(spec, container.config());
            if (guest.isPresent()) {
                return forkWarm(plan, spec, guest.get());
            }
            GuestTemplates kept = templates;
            Optional<GuestTemplate> template = kept == null ? Optional.empty() : kept.take(spec, container.config());
            Optional<WarmGuest> clone = template.isPresent() ? restoreOrNot(kept, template.get(), false)
                    : Optional.empty();
            if (clone.isPresent()) {
                try {
                    return forkWarm(plan, spec, clone.get());
                } finally {
                    kept.made(clone.get().uuid()); // its task's now, or discarded
                }
            }
            return forkCold(plan, spec);
        } catch (Exception | Error e) {
            try {
                FileShares.remove(FileShares.of(container.containerDir()));
            } catch (Exception | Error cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * Boots a full VM: its base image checked, its own disk made on the first boot (kept after), a
     * fresh seed, QEMU's user let in, then the domain. Everything is refused before anything is made.
     * With a {@code resume_snapshot} the domain starts paused, QEMU loads the snapshot's disk and memory,
     * and the guest goes on from there.
     */
    private LaunchedTask forkMachine(LaunchPlan plan) throws Exception {
        ContainerContext container = plan.container();
        MachineSpec spec = specs.forMachine(plan);
        qemuAccess.checkMachine(spec);
        VmMachine machine = container.config().getVm().getMachine();
        MachineDisk.ensure(spec.disk(), spec.base(), machine.getDiskSizeBytes());
        if (spec.seed().isPresent()) {
            CloudInit ci = machine.getCloudInit();
            NoCloudSeed.write(spec.seed().get(), ci.getInstanceId().isEmpty() ? container.containerId() : ci.getInstanceId(),
                    container.config().getHostname(), ci.getUserData(), ci.getSshAuthorizedKeysList(), interfaces(plan));
        }
        qemuAccess.grantMachine(spec);
        VmTaskCheckpoint checkpoint = VmTaskCheckpoint.newBuilder()
                .setDomainName(spec.domainName())
                .setDomainUuid(spec.uuid().toString())
                .setConsoleLog(spec.consoleLog().toString())
                .setMachine(true)
                .build();
        container.checkpoint().save(CODEC, checkpoint);
        try {
            cgroupPartition.ensure();
            if (machine.getResumeSnapshot().isEmpty()) {
                libvirt.create(MachineDomainXml.render(spec));
                return trackMachine(container.containerId(), checkpoint, spec.disk());
            }
            // the same devices as the snapshot's boot, paused before the firmware runs, then given its state
            libvirt.createPaused(MachineDomainXml.render(spec));
            MachineTask task = trackMachine(container.containerId(), checkpoint, spec.disk());
            try {
                new LiveDiskSnapshots(libvirt, checkpoint.getDomainUuid(), spec.disk())
                        .restoreWithMemory(machine.getResumeSnapshot());
            } catch (IOException e) {
                throw VesselException.internal("vm.machine.resume_snapshot", "cannot resume the VM from its snapshot "
                        + Quoted.of(machine.getResumeSnapshot()) + ": " + e.getMessage(), e);
            }
            FaultPoints.reach(FaultPoints.DURING_VM_BOOT, container.containerId());
            libvirt.resume(checkpoint.getDomainUuid());
            return task;
        } catch (Exception | Error e) {
            try {
                libvirt.destroy(checkpoint.getDomainUuid());
                container.checkpoint().delete();
            } catch (Exception | Error cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * Boots a VM pod's domain: sized and networked as a task's, its rootfs share an empty shared mount that
     * its members' rootfs will be bound into, exported both ways. Its guest runs the pod's pause once released.
     */
    private VmTask forkPod(LaunchPlan plan) throws Exception {
        Path share = PodShare.of(plan.container().containerDir());
        VmSpec spec = specs.forPod(plan, share);
        Files.createDirectories(share);
        qemuAccess.prepare(spec);
        try {
            PodShare.prepare(share);
            return forkCold(plan, spec, share);
        } catch (Exception | Error e) {
            try {
                PodShare.remove(share);
            } catch (Exception | Error cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * Runs a VM pod's member as a task of its pod's guest: its rootfs bound into the pod's share, its
     * checkpoint naming the pod; the launch itself is the release's.
     */
    private PodMemberTask forkMember(LaunchPlan plan) throws Exception {
        ContainerContext container = plan.container();
        String podId = container.config().getParentId();
        VmTask pod = running.get(podId);
        if (pod == null || pod.podShare().isEmpty() || pod.exit().isDone()) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "parent_id", "pod '" + podId
                    + "' has no running VM");
        }
        Path rootfs = VmSpec.requireRootfs(plan.launchInfo().getRootfs());
        boolean mapped = rootfs.startsWith(paths.vmRootfsDir());
        VmVolumes volumes = VmVolumes.plan(plan.launchInfo().getMountsList(), List.of());
        qemuAccess.prepareMemberRootfs(rootfs);
        if (!mapped) {
            volumes.makeMountPointsIn(rootfs, container.config().getReadOnlyRootfs());
        }
        Path share = pod.podShare().get();
        VmTaskCheckpoint checkpoint = VmTaskCheckpoint.newBuilder()
                .setDomainName(pod.domainName())
                .setDomainUuid(pod.domainUuid())
                .setPodShare(share.toString())
                .setPodId(podId)
                .build();
        container.checkpoint().save(CODEC, checkpoint);
        OutputLogs logs = null;
        try {
            PodShare.bind(share, container.containerId(), rootfs);
            logs = outputLogs(container);
            PodMemberTask member = new PodMemberTask(container.containerId(), container.config(), checkpoint,
                    container.checkpoint(), logs, config.requestTimeout(), volumes.guestMounts(),
                    GuestRootfs.ofShared(mapped));
            trackMember(member, pod);
            return member;
        } catch (Exception | Error e) {
            try {
                if (logs != null) {
                    logs.close();
                }
                PodShare.unbind(share, container.containerId());
                container.checkpoint().delete();
            } catch (Exception | Error cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private void trackMember(PodMemberTask member, VmTask pod) {
        members.put(member.containerId(), member);
        member.exit().whenComplete((t, e) -> members.remove(member.containerId(), member));
        member.attach(pod);
    }

    /** Boots a domain for this task, then waits for its agent's hello. */
    private VmTask forkCold(LaunchPlan plan, VmSpec spec) throws Exception {
        return forkCold(plan, spec, null);
    }

    /** {@code podShare}: a VM pod's share, exported both ways and removed with the domain; null for a task. */
    private VmTask forkCold(LaunchPlan plan, VmSpec spec, Path podShare) throws Exception {
        ContainerContext container = plan.container();
        Files.createDirectories(spec.agentSocket().getParent());
        Files.deleteIfExists(spec.agentSocket());
        VmTaskCheckpoint.Builder saved = VmTaskCheckpoint.newBuilder()
                .setDomainName(spec.domainName())
                .setDomainUuid(spec.uuid().toString())
                .setAgentSocket(spec.agentSocket().toString())
                .setConsoleLog(spec.consoleLog().toString());
        if (podShare != null) {
            saved.setPodShare(podShare.toString());
        }
        if (!spec.volumes().files().isEmpty()) {
            saved.setFileShares(FileShares.of(container.containerDir()).toString());
        }
        if (spec.rootfsServerSocket().isPresent()) {
            saved.setRootfsServer(paths.rootfsServerDir(container.containerDir()).toString());
        }
        VmTaskCheckpoint checkpoint = saved.build();
        container.checkpoint().save(CODEC, checkpoint);

        VmTask task = null;
        OutputLogs logs = null;
        try {
            if (spec.rootfsServerSocket().isPresent()) {
                RootfsServer.start(Path.of(checkpoint.getRootfsServer()), spec.rootfsServerSocket().get(), spec.rootfs());
                qemuAccess.grantFileServer(spec.rootfsServerSocket().get());
            }
            cgroupPartition.ensure();
            libvirt.create(DomainXml.render(spec, podShare != null));
            FaultPoints.reach(FaultPoints.DURING_VM_BOOT, container.containerId());
            logs = outputLogs(container);
            task = newTask(container, checkpoint, logs, QemuProcess.of(checkpoint.getDomainName()),
                    newAgentClient(spec.agentSocket()), spec.volumes().guestMounts(), interfaces(plan),
                    spec.rootfsServerSocket().isPresent() ? GuestRootfs.FILE_SERVER : GuestRootfs.SHARE);
            task.handshake(config.helloTimeout());
        } catch (Exception | Error e) {
            undo(checkpoint, task, logs, container, e);
            throw e;
        }
        track(task);
        return task;
    }

    /**
     * Hands a warm guest to this task: its rootfs is bound into the guest's share, the task's CPU weight given to its
     * domain; the agent is ready.
     */
    private VmTask forkWarm(LaunchPlan plan, VmSpec spec, WarmGuest guest) throws Exception {
        ContainerContext container = plan.container();
        VmTaskCheckpoint checkpoint = VmTaskCheckpoint.newBuilder()
                .setDomainName(guest.domainName())
                .setDomainUuid(guest.uuid())
                .setAgentSocket(guest.agentSocket().toString())
                .setConsoleLog(guest.consoleLog().toString())
                .setWarmGuestDir(guest.dir().toString())
                .build();
        VmTask task = null;
        OutputLogs logs = null;
        try {
            container.checkpoint().save(CODEC, checkpoint);
            if (spec.cpu().weight() != specs.defaultCpuWeight()) {
                libvirt.setCpuWeight(guest.uuid(), spec.cpu().weight());
            }
            WarmGuest.bindRootfs(guest.dir(), spec.rootfs());
            logs = outputLogs(container);
            // the guest has its share both mapped and passed through: the one this rootfs needs
            task = newTask(container, checkpoint, logs, guest.qemu(), guest.agent(), spec.volumes().guestMounts(),
                    interfaces(plan), GuestRootfs.ofShared(spec.rootfsMapped()));
            task.adopt();
        } catch (Exception | Error e) {
            if (task == null) {
                discardWarmGuest(guest);
                if (logs != null) {
                    logs.close();
                }
            }
            undo(checkpoint, task, null, container, e);
            throw e;
        }
        track(task);
        return task;
    }

    /**
     * A guest for the warm pool, its agent warmed up: restored from the guest template when one of its size is
     * ready (a fraction of a boot; its pages shared with the template's other clones), booted otherwise. The
     * pool's first guest waits for the template's first build, up to {@link #FIRST_TEMPLATE_WAIT}.
     */
    private WarmGuest makeWarmGuest(long memoryBytes, int vcpus) throws Exception {
        GuestTemplates kept = templates;
        if (kept == null) {
            return bootWarmGuest(memoryBytes, vcpus);
        }
        kept.awaitFirstBuild(FIRST_TEMPLATE_WAIT);
        Optional<WarmGuest> clone = kept.takeForPool(memoryBytes, vcpus)
                .flatMap(template -> restoreOrNot(kept, template, true));
        if (clone.isEmpty()) {
            return bootWarmGuest(memoryBytes, vcpus);
        }
        kept.made(clone.get().uuid()); // the pool's from here on (the orphan sweep never runs beside a pool)
        return clone.get();
    }

    /** Boots a guest for the warm pool, its agent warmed up; leaves nothing behind a failure. */
    private WarmGuest bootWarmGuest(long memoryBytes, int vcpus) throws Exception {
        String name = DomainNames.forWarmGuest();
        Path dir = paths.warmGuestDir(name);
        VmSpec spec = specs.forWarmGuest(name, dir, RuntimePaths.warmGuestShare(dir), memoryBytes, vcpus);
        return makeGuest(spec, dir, uuid -> { }, guest -> guest.warmUp(config.requestTimeout(), POOL_SHARES));
    }

    /** What {@link #makeGuest} does at one of its steps. */
    private interface GuestStep<T> {
        void run(T on) throws Exception;
    }

    /**
     * Makes a guest that has no task yet (booted ahead of demand, a template's, or restored from one): starts its
     * domain, runs {@code started} on its uuid, waits for its agent's hello, then runs {@code ready} on it. Leaves
     * nothing behind a failure.
     */
    private WarmGuest makeGuest(VmSpec spec, Path dir, GuestStep<String> started, GuestStep<WarmGuest> ready)
            throws Exception {
        String uuid = spec.uuid().toString();
        boolean created = false;
        AgentClient agent = null;
        try {
            WarmGuest.prepareShare(dir);
            qemuAccess.prepare(spec);
            cgroupPartition.ensure();
            libvirt.create(DomainXml.render(spec));
            created = true;
            started.run(uuid);
            agent = newAgentClient(spec.agentSocket());
            WarmGuest guest = new WarmGuest(spec.domainName(), uuid, dir, spec.agentSocket(), spec.consoleLog(),
                    QemuProcess.of(spec.domainName()), agent);
            guest.awaitHello(config.helloTimeout());
            ready.run(guest);
            return guest;
        } catch (Exception | Error e) {
            try {
                if (agent != null) {
                    agent.close();
                }
                if (created) {
                    libvirt.destroy(uuid);
                }
                WarmGuest.remove(dir, spec.agentSocket(), spec.consoleLog());
            } catch (Exception | Error cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * Builds a guest template ({@link GuestTemplates}): boots a guest whose RAM is the template's memory file,
     * warms its agent up, lets go of its channel (a clone's host connects afresh), saves it and destroys it.
     */
    private GuestTemplate buildTemplate(String inputs, long memoryBytes, int vcpus) throws Exception {
        String name = DomainNames.forTemplate();
        Path guestDir = paths.warmGuestDir(name);
        Path dir = TemplateWrapper.checkDir(paths.vmTemplateDir(name));
        VmSpec spec = specs.forWarmGuest(name, guestDir, RuntimePaths.warmGuestShare(guestDir), memoryBytes, vcpus)
                .toBuilder().template(Optional.of(new VmSpec.Template(VmSpec.Template.Role.BUILD,
                        paths.vmTemplateWrapper(), dir))).build();
        String uuid = spec.uuid().toString();
        GuestTemplates making = templates;
        making.making(uuid);
        try {
            prepareTemplateDir(dir);
            // the renewal too runs once before the save: the clones' first renewal then finds its code warm
            WarmGuest guest = makeGuest(spec, guestDir, started -> { }, ready -> {
                ready.warmUp(config.requestTimeout(), List.of()); // a guest with a 9p share mounted cannot be saved
                ready.renewIdentity(config.requestTimeout());
            });
            try {
                guest.agent().close();
                TemplateMigration.save(libvirt, uuid, dir, paths.vmTemplateMigrationSocket(dir), paths.runDir(),
                        qemuUser, config.requestTimeout());
            } finally {
                discardWarmGuest(guest);
            }
            return GuestTemplate.saved(name, dir, inputs, spec.memoryBytes(), spec.vcpus()); // QEMU gone: files final
        } catch (Exception | Error e) {
            try {
                removeTemplateDir(dir);
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        } finally {
            making.made(uuid);
        }
    }

    /**
     * The template's directory with an empty memory file that QEMU's user may write (QEMU sizes it and maps it
     * shared: the guest's RAM); no one else may.
     */
    private void prepareTemplateDir(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        qemuUser.allowSearch(paths.stateDir(), dir);
        Path memory = GuestTemplate.memory(dir);
        Files.createFile(memory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        qemuUser.allow(memory, PosixAcls.READ | PosixAcls.WRITE);
    }

    /** Removes a template's directory: its files only, nothing is mounted there. */
    private static void removeTemplateDir(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        for (Path file : DirectoryEntries.matching(dir, "*")) {
            Files.deleteIfExists(file);
        }
        Files.delete(dir); // anything left is not ours to remove: fails, naming it
    }

    /**
     * A guest restored from {@code template} (see {@link #cloneGuest}), or none when that failed: the task or the
     * pool then boots one, and the template, which may be what failed, is built again.
     */
    private Optional<WarmGuest> restoreOrNot(GuestTemplates kept, GuestTemplate template, boolean warmUp) {
        try {
            return Optional.of(cloneGuest(template, warmUp));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } catch (Exception e) {
            LOG.log(Level.WARNING, "cannot restore a guest from the template {0}, booting one: {1}", template.name(),
                    e.getMessage());
            kept.failed(template);
            return Optional.empty();
        }
    }

    /**
     * A guest restored from {@code template} instead of booted: its domain started from the template's memory
     * file and state, its agent reached afresh and told to renew what every clone shares with the template. With
     * {@code warmUp} (a guest that waits in the pool) it then runs the warm-up task again: the guest's memory
     * holds that warmth already, but its QEMU translates every guest instruction anew under TCG, which the
     * warm-up pays instead of the task.
     */
    private WarmGuest cloneGuest(GuestTemplate template, boolean warmUp) throws Exception {
        String name = DomainNames.forWarmGuest();
        Path dir = paths.warmGuestDir(name);
        VmSpec spec = specs.forWarmGuest(name, dir, RuntimePaths.warmGuestShare(dir), template.memoryBytes(),
                template.vcpus()).toBuilder().template(Optional.of(new VmSpec.Template(VmSpec.Template.Role.CLONE,
                        paths.vmTemplateWrapper(), template.dir()))).build();
        templates.making(spec.uuid().toString()); // until its task holds it (fork) or it is gone
        try {
            return makeGuest(spec, dir, uuid -> TemplateMigration.restore(libvirt, uuid, config.helloTimeout()),
                    guest -> {
                        guest.renewIdentity(config.requestTimeout());
                        if (warmUp) {
                            guest.warmUp(config.requestTimeout(), POOL_SHARES);
                        }
                    });
        } catch (Exception | Error e) {
            templates.made(spec.uuid().toString());
            throw e;
        }
    }

    private void discardWarmGuest(WarmGuest guest) {
        guest.agent().close();
        libvirt.destroy(guest.uuid());
        try {
            WarmGuest.remove(guest.dir(), guest.agentSocket(), guest.consoleLog());
        } catch (java.io.IOException e) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "cannot remove the warm guest's directory "
                    + guest.dir() + ": " + e.getMessage(), e);
        }
    }

    /** Leaves nothing behind a failed fork: no domain, no socket, no checkpoint. */
    private void undo(VmTaskCheckpoint checkpoint, VmTask task, OutputLogs logs, ContainerContext container,
            Throwable failure) {
        try {
            if (task != null) {
                task.tearDownFully();
            } else {
                libvirt.destroy(checkpoint.getDomainUuid());
                if (logs != null) {
                    logs.close();
                }
                Files.deleteIfExists(Path.of(checkpoint.getAgentSocket()));
                if (!checkpoint.getRootfsServer().isEmpty()) {
                    RootfsServer.stop(Path.of(checkpoint.getRootfsServer()));
                }
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
            // the crash came before the checkpoint: no domain was created, file binds may have been
            FileShares.remove(FileShares.of(container.containerDir()));
            RootfsServer.stop(paths.rootfsServerDir(container.containerDir()));
            return Optional.empty();
        }
        VmTaskCheckpoint checkpoint = saved.get();
        if (!checkpoint.getPodId().isEmpty()) {
            return recoverMember(container, checkpoint);
        }
        if (checkpoint.getMachine()) { // a full VM runs on without the daemon: found again, or gone
            return Optional.of(isOurs(checkpoint, container.containerId()) && libvirt.isActive(checkpoint.getDomainUuid())
                    ? trackMachine(container.containerId(), checkpoint,
                            Path.of(container.config().getVm().getMachine().getDisk()))
                    : MachineTask.ended(container.containerId()));
        }
        if (isOurs(checkpoint, container.containerId()) && libvirt.isActive(checkpoint.getDomainUuid())) {
            // found again, the task runs already: nothing to mount or configure
            VmTask task = newTask(container, checkpoint, outputLogs(container),
                    QemuProcess.of(checkpoint.getDomainName()), newAgentClient(Path.of(checkpoint.getAgentSocket())),
                    List.of(), List.of(), GuestRootfs.SHARE); // released long ago: not used
            attachAwaitingMembers(task); // before the hello: the guest re-sends their exits after it
            try {
                task.handshakeAgain(config.helloTimeout()); // the guest then re-sends an exit we missed
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "the VM of ''{0}'' runs but its agent cannot be reached; destroying it: {1}",
                        container.containerId(), e.getMessage());
                task.tearDownFully();
                return Optional.of(VmTask.ended(container.containerId(), checkpoint, libvirt,
                        Termination.newBuilder().setReason(TerminationReason.LOST)
                                .setMessage("after a restart the VM's agent could not be reached: " + e.getMessage())
                                .build()));
            }
            task.releasedBefore();
            track(task);
            return Optional.of(task);
        }
        // The domain is gone (or was never created): its end is known if the guest reported it.
        endAwaitingMembers(container.containerId());
        VmTask gone = VmTask.ended(container.containerId(), checkpoint, libvirt, checkpoint.getTermination());
        gone.tearDown(); // a stale socket may remain
        return checkpoint.hasTermination() ? Optional.of(gone) : Optional.empty();
    }

    /** The task's stdio through its guest agent, whose launch helper holds it in the guest. */
    @Override
    public StdioChannel attach(ContainerContext container) throws Exception {
        return runningGuestTask(container).attach();
    }

    /** Has the guest agent run the process inside the task's container in the guest. */
    @Override
    public ExecutedProcess exec(ContainerContext container, ExecPlan plan) throws Exception {
        return runningGuestTask(container).exec(plan, false).process();
    }

    /** As {@link #exec}, the guest attaching to the process before it runs. */
    @Override
    public AttachedExec execAttached(ContainerContext container, ExecPlan plan) throws Exception {
        return runningGuestTask(container).exec(plan, true);
    }

    /**
     * After a restart: asks the guest about the exec (its end, if it came while no daemon listened, was
     * re-sent on the new connection). A task that is not running took its execs with it.
     */
    @Override
    public Optional<ExecutedProcess> recoverExec(ContainerContext container, ExecPlan plan) throws Exception {
        Optional<GuestTaskStdio> task = guestTask(container.containerId());
        return task.isEmpty() ? Optional.empty() : task.get().recoverExec(plan);
    }

    /** The stdio and execs of a running VM task or VM pod member, in its guest. */
    private GuestTaskStdio runningGuestTask(ContainerContext container) {
        return guestTask(container.containerId()).orElseThrow(() -> new VesselException(
                ErrorCode.FAILED_PRECONDITION, container.containerId(), container.config().getVm().hasMachine()
                        ? "a full VM has no task to attach to or exec in (use its console)"
                        : "the VM task is not running"));
    }

    private Optional<GuestTaskStdio> guestTask(String containerId) {
        VmTask task = running.get(containerId);
        if (task != null && !task.exit().isDone()) {
            return Optional.of(task.stdio());
        }
        PodMemberTask member = members.get(containerId);
        return member != null && !member.exit().isDone() ? Optional.of(member.stdio()) : Optional.empty();
    }

    /**
     * A VM pod's member found again: ended, as its checkpoint says, when it reported its end or its pod's
     * VM is gone; otherwise it waits for its pod (recovered after it) to be found again too.
     */
    private Optional<LaunchedTask> recoverMember(ContainerContext container, VmTaskCheckpoint checkpoint)
            throws IOException {
        boolean podRuns = libvirt.isActive(checkpoint.getDomainUuid());
        if (checkpoint.hasTermination() || !podRuns) {
            PodShare.unbind(Path.of(checkpoint.getPodShare()), container.containerId());
            return Optional.of(VmTask.ended(container.containerId(), checkpoint, libvirt, checkpoint.hasTermination()
                    ? checkpoint.getTermination()
                    : Termination.newBuilder().setReason(TerminationReason.LOST).setMessage("its pod's VM is gone")
                            .build()));
        }
        PodMemberTask member = new PodMemberTask(container.containerId(), container.config(), checkpoint,
                container.checkpoint(), outputLogs(container), config.requestTimeout(), List.of(),
                GuestRootfs.SHARE); // released long ago: not used
        member.releasedBefore();
        members.put(member.containerId(), member);
        member.exit().whenComplete((t, e) -> members.remove(member.containerId(), member));
        awaitingPod.computeIfAbsent(checkpoint.getPodId(), id -> new ArrayList<>()).add(member);
        return Optional.of(member);
    }

    private void attachAwaitingMembers(VmTask pod) {
        List<PodMemberTask> waiting = awaitingPod.remove(pod.containerId());
        if (waiting != null) {
            waiting.forEach(m -> m.attach(pod));
        }
    }

    /** The members of a pod whose VM was not found again end with it. */
    private void endAwaitingMembers(String podId) {
        List<PodMemberTask> waiting = awaitingPod.remove(podId);
        if (waiting != null) {
            for (PodMemberTask m : waiting) {
                try {
                    m.destroy();
                } catch (Exception e) {
                    LOG.log(Level.WARNING, "cannot end member ''{0}'' of a pod whose VM is gone: {1}",
                            m.containerId(), e.getMessage());
                }
            }
        }
    }

    /**
     * The domain with the checkpointed uuid is this daemon's and this container's: booted for it, or
     * booted warm (no container in its metadata) and handed to it, as its checkpoint says.
     */
    private boolean isOurs(VmTaskCheckpoint checkpoint, String containerId) {
        String ownerId = checkpoint.getWarmGuestDir().isEmpty() ? containerId : "";
        return libvirt.metadata(checkpoint.getDomainUuid())
                .filter(m -> m.containerId().equals(ownerId) && m.stateDir().equals(paths.stateDir().toString()))
                .isPresent();
    }

    /**
     * Destroys every domain of this daemon (by state dir) whose container is not live and that is no
     * live task's warm guest nor the pool's, removes warm guests' directories nobody owns, then removes
     * the cgroup partition if no domain is left in it.
     */
    @Override
    public void removeOrphans(Set<String> liveContainerIds) {
        String stateDir = paths.stateDir().toString();
        Set<String> liveUuids = new HashSet<>();
        Set<Path> liveWarmDirs = new HashSet<>();
        for (VmTask task : running.values()) {
            liveUuids.add(task.domainUuid());
            task.warmGuestDir().ifPresent(liveWarmDirs::add);
        }
        WarmPool warm = pool;
        GuestTemplates kept = templates;
        for (LibvirtDomains.Found domain : libvirt.vesselDomains()) {
            DomainMetadata owner = domain.metadata();
            boolean live = owner.containerId().isEmpty()
                    ? liveUuids.contains(domain.uuid()) || warm != null && warm.owns(domain.uuid())
                            || kept != null && kept.owns(domain.uuid())
                    : liveContainerIds.contains(owner.containerId());
            if (owner.stateDir().equals(stateDir) && !live) {
                LOG.log(Level.INFO, "destroying domain {0}: {1}", domain.name(), owner.containerId().isEmpty()
                        ? "a warm guest no task or pool holds" : "its container '" + owner.containerId() + "' is gone");
                libvirt.destroy(domain.uuid());
            }
        }
        if (kept == null) { // guests being made from a template have directories the sweep cannot tell from leftovers
            removeWarmDirsExcept(liveWarmDirs, warm);
            removeTemplatesLeft();
        }
        cgroupPartition.removeIfEmpty();
    }

    /** Guest templates a crashed daemon left (the guests restored from them keep the pages they map). */
    private void removeTemplatesLeft() {
        try {
            for (Path left : paths.vmTemplateDirs()) {
                LOG.log(Level.INFO, "removing {0}: a guest template of an earlier daemon", left);
                removeTemplateDir(left);
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot remove guest templates left under {0}: {1}", paths.vmTemplatesDir(),
                    e.getMessage());
        }
    }

    /** Warm guests' directories left by a crash (their domains are gone by now). */
    private void removeWarmDirsExcept(Set<Path> liveWarmDirs, WarmPool warm) {
        if (warm != null) {
            return; // a running pool's guests have directories the sweep cannot tell from leftovers
        }
        try {
            for (Path dir : paths.warmGuestDirs()) {
                if (!liveWarmDirs.contains(dir)) {
                    LOG.log(Level.INFO, "removing {0}: a warm guest no task holds", dir);
                    WarmGuest.remove(dir, paths.agentSocket(dir), paths.consoleLog(dir));
                }
            }
        } catch (java.io.IOException e) {
            LOG.log(Level.WARNING, "cannot remove warm guests'' leftovers under {0}: {1}", paths.vmPoolDir(),
                    e.getMessage());
        }
    }

    /** The task of a machine whose domain runs now, its disk reachable through its QEMU until it ends. */
    private MachineTask trackMachine(String containerId, VmTaskCheckpoint checkpoint, Path disk) throws IOException {
        MachineTask task = new MachineTask(containerId, checkpoint.getDomainUuid(), libvirt, cgroupPartition,
                QemuProcess.of(checkpoint.getDomainName()));
        RunningMachine running = new RunningMachine(task, new LiveDiskSnapshots(libvirt, checkpoint.getDomainUuid(),
                disk));
        runningMachines.put(containerId, running);
        task.exit().whenComplete((t, e) -> runningMachines.remove(containerId, running));
        return task;
    }

    private void track(VmTask task) {
        running.put(task.containerId(), task);
        task.exit().whenComplete((t, e) -> running.remove(task.containerId(), task));
    }

    private OutputLogs outputLogs(ContainerContext container) throws java.io.IOException {
        return new OutputLogs(paths.stdoutLog(container.containerDir()), paths.stderrLog(container.containerDir()));
    }

    /**
     * The task of the domain {@code checkpoint} names, whose QEMU runs now; {@code guestMounts} and
     * {@code interfaces} are what its launch tells the guest to mount and to configure on its NICs.
     */
    private VmTask newTask(ContainerContext container, VmTaskCheckpoint checkpoint, OutputLogs logs, QemuProcess qemu,
            AgentClient agent, List<GuestMount> guestMounts, List<GuestInterface> interfaces, GuestRootfs rootfs) {
        return new VmTask(new VmTask.Parts(container.containerId(), container.config(), checkpoint,
                container.checkpoint(), libvirt, cgroupPartition, qemu, agent, logs, config.requestTimeout(),
                guestMounts, interfaces, rootfs));
    }

    /** What the guest configures on each NIC the host-side network isolator gave it. */
    private static List<GuestInterface> interfaces(LaunchPlan plan) {
        return plan.launchInfo().getVm().getNicsList().stream().map(VmNic::getGuest).toList();
    }

    /** A client for the agent behind {@code socket}, not yet connected; its events go nowhere until a task listens. */
    private AgentClient newAgentClient(Path socket) {
        return new AgentClient(agentLoop, socket, new AgentClient.Timing(config.heartbeatInterval(),
                config.silenceLimit()), AgentClient.Listener.NOBODY);
    }

    /**
     * Closes the libvirt connection and the agent channels; the VMs keep running (a restart finds them),
     * and so does the cgroup partition while any of them is in it.
     */
    @Override
    public void close() {
        WarmPool warm;
        GuestTemplates kept;
        synchronized (this) {
            warm = pool;
            pool = null;
            kept = templates;
            templates = null;
        }
        if (warm != null) {
            warm.close(); // warm guests hold no task: nothing to find after a restart
        }
        if (kept != null) {
            kept.close(); // the next daemon would not trust the template anyway
        }
        running.values().forEach(VmTask::detach);
        running.clear();
        members.values().forEach(PodMemberTask::detach);
        members.clear();
        runningMachines.clear();
        agentLoop.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        libvirt.close();
        cgroupPartition.removeIfEmpty();
    }
}
