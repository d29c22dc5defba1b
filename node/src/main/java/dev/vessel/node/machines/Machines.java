package dev.vessel.node.machines;

import dev.vessel.core.cpu.CpuWeight;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.CloudInit;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.MachineRequest;
import dev.vessel.core.model.MachineUpdate;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.VmMachine;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.TtyDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The node's long-lived VMs (OpenStack-style): each is a directory under {@code machines/<name>/}
 * holding what it was created with and its own disk ({@link MachineRecords}), and each boot is a
 * container {@code vm-<name>} whose {@code vm.machine} boots that disk — so the containerizer, its
 * isolators and its recovery do the running, and a VM keeps running while the daemon restarts.
 * Stopping ends the container (an ACPI shutdown, then a forced one after the timeout) and keeps the
 * disk; starting boots a new container from the same disk; removing takes the container, the disk
 * and the directory.
 */
public final class Machines {
    static final String CONTAINER_PREFIX = "vm-";
    private static final int SIGTERM = 15;

    /** Finds the pty of a running boot's serial console, by its container's id (the VM launcher does). */
    @FunctionalInterface
    public interface SerialConsoles {
        Optional<Path> of(String containerId);
    }

    /** One user at a time on a VM's console, as {@code virsh console}: the session holds its pty until closed. */
    public record ConsoleSession(TtyDevice tty, Runnable release) implements AutoCloseable {
        @Override
        public void close() {
            try {
                tty.close();
            } finally {
                release.run();
            }
        }
    }

    private final Containerizer containerizer;
    private final RuntimePaths paths;
    private final MachineRecords records;
    private final BaseImages images;
    private final SerialConsoles consoles;
    private final Set<String> attached = ConcurrentHashMap.newKeySet();
    /** The node's CPUs: no VM's CPU limit may exceed them. */
    private final int nodeCpus;

    public Machines(Containerizer containerizer, RuntimePaths paths, MachineRecords records, BaseImages images,
            SerialConsoles consoles, int nodeCpus) {
        this.containerizer = containerizer;
        this.paths = paths;
        this.records = records;
        this.images = images;
        this.consoles = consoles;
        this.nodeCpus = nodeCpus;
    }

    /** A VM as {@code ls} and {@code inspect} show it: what it was created with, its current boot, its files. */
    public record Machine(MachineRequest request, Optional<ContainerStatus> boot, Path disk, Path consoleLog) {
        /** running, stopped (no boot, or one that ended), or the boot's state while it starts or ends. */
        public String state() {
            if (boot.isEmpty() || boot.get().getState() == ContainerState.TERMINATED) {
                return "stopped";
            }
            return boot.get().getState() == ContainerState.RUNNING ? "running" : boot.get().getState().name().toLowerCase();
        }
    }

    /**
     * Creates the VM and boots it; refused naming the field, with nothing left behind, when it cannot boot.
     * An image given by URL is fetched first (and stays in the store, as a pulled image does).
     */
    public Machine create(MachineRequest request) throws Exception {
        String name = request.getName();
        if (!MachineRecords.NAME.matcher(name).matches()) {
            throw VesselException.invalid("name", "'" + name + "' must be 1 to 60 letters, digits, '_', '.' or '-',"
                    + " starting with a letter or digit");
        }
        if (Files.exists(records.dir(name))) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, "name", "a VM named '" + name + "' exists");
        }
        checkCpuLimit(request.getCpuLimit());
        return createFrom(images.resolve(request)); // a download holds up no other VM's start or stop
    }

    private synchronized Machine createFrom(MachineRequest recorded) throws IOException {
        String name = recorded.getName();
        if (!records.makeDir(name)) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, "name", "a VM named '" + name + "' exists");
        }
        try {
            records.write(recorded);
            boot(recorded);
        } catch (IOException | RuntimeException e) {
            try {
                records.remove(name);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return get(name);
    }

    /** Boots a stopped VM again from its disk. */
    public synchronized Machine start(String name) throws IOException {
        return start(name, "");
    }

    /**
     * Starts the stopped VM from {@code snapshot}, one of its disk's snapshots that holds its memory: the guest
     * goes on from the moment it was taken instead of booting.
     */
    public synchronized Machine resume(String name, String snapshot) throws IOException {
        return start(name, snapshot);
    }

    private Machine start(String name, String resumeSnapshot) throws IOException {
        Machine machine = get(name);
        if (machine.state().equals("running")) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "name", "the VM '" + name + "' runs already");
        }
        if (machine.boot().isPresent()) {
            containerizer.remove(containerId(name)); // the last boot's record, ended
        }
        containerizer.launch(containerConfig(machine.request(), images.path(machine.request()),
                records.disk(name), resumeSnapshot));
        return get(name);
    }

    /**
     * Stops the VM: the ACPI power button, then, if it has not powered off within {@code timeout} (or at
     * once with {@code force}), a destroy. The ended boot stays listed until the next start.
     */
    public Machine stop(String name, boolean force, Duration timeout) throws Exception {
        Machine machine = get(name);
        if (!machine.state().equals("stopped")) {
            String id = containerId(name);
            if (!force) {
                containerizer.kill(id, SIGTERM);
                try {
                    containerizer.wait(id).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    // it did not power off in time: pulled
                }
            }
            containerizer.destroy(id);
        }
        return get(name);
    }

    /**
     * Reboots the VM as OpenStack's libvirt driver does: an orderly stop (a forced one after {@code timeout},
     * or at once with {@code force}), then a fresh boot from the same disk.
     */
    public Machine reboot(String name, boolean force, Duration timeout) throws Exception {
        stop(name, force, timeout);
        return start(name);
    }

    /** Attaches to the running VM's serial console; refused while someone else is attached. */
    public ConsoleSession attachConsole(String name) throws IOException {
        Machine machine = get(name);
        if (!machine.state().equals("running")) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "name", "the VM '" + name + "' is "
                    + machine.state() + ": its console is there while it runs");
        }
        Path pty = consoles.of(containerId(name)).orElseThrow(() -> new VesselException(ErrorCode.FAILED_PRECONDITION,
                "name", "the VM '" + name + "' has no serial console to attach to (booted by an older Vessel?)"));
        if (!attached.add(name)) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "name", "someone is attached to the console of"
                    + " the VM '" + name + "' already");
        }
        try {
            return new ConsoleSession(TtyDevice.open(pty), () -> attached.remove(name));
        } catch (ErrnoException | RuntimeException e) {
            attached.remove(name);
            throw VesselException.internal("name", "cannot open the console of the VM '" + name + "' (" + pty + "): "
                    + e.getMessage(), e);
        }
    }

    /**
     * Changes what {@code update} gives of the VM: its record, so every later boot has it, and a running boot at once
     * (its resources, as {@code containerConfig} makes them). A change the running boot refuses leaves the record as
     * it was; a crash between the two leaves the boot's change alone, which the next boot undoes.
     */
    public synchronized Machine update(String name, MachineUpdate update) throws IOException {
        Machine machine = get(name);
        MachineRequest.Builder changed = machine.request().toBuilder();
        if (update.hasCpuShares()) {
            long shares = update.getCpuShares();
            if (shares != 0) {
                CpuWeight.problem(shares).ifPresent(p -> {
                    throw VesselException.invalid("cpu_shares", p + " (0: 1024)");
                });
            }
            changed.setCpuShares(shares);
        }
        if (update.hasCpuLimit()) {
            checkCpuLimit(update.getCpuLimit());
            changed.setCpuLimit(update.getCpuLimit());
        }
        if (machine.state().equals("running")) {
            String boot = containerId(name);
            containerizer.update(boot, containerizer.config(boot).getResources().toBuilder()
                    .setCpuShares(changed.getCpuShares()).setCpus(changed.getCpuLimit()).build());
        }
        records.write(changed.build());
        return get(name);
    }

    /**
     * A limit the validator would refuse naming its boot's {@code resources.cpus}, refused by its own name, and
     * before it is recorded: an update of a stopped VM reaches no validator until its next start.
     */
    private void checkCpuLimit(double cpus) {
        if (!Double.isFinite(cpus) || cpus < 0) {
            throw VesselException.invalid("cpu_limit", "must be a finite number of CPUs, 0 or more (0: no limit),"
                    + " not " + cpus);
        }
        if (cpus > nodeCpus) {
            throw VesselException.invalid("cpu_limit", cpus + " exceeds this node's " + nodeCpus + " CPUs");
        }
    }

    /** Removes the VM: its boot (a running one only with {@code force}), its disk and its directory. */
    public synchronized void remove(String name, boolean force) throws Exception {
        Machine machine = get(name);
        if (machine.state().equals("running") && !force) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "name", "the VM '" + name
                    + "' runs: stop it first, or remove it with force");
        }
        if (machine.boot().isPresent()) {
            containerizer.destroy(containerId(name));
            containerizer.remove(containerId(name));
        }
        records.remove(name);
    }

    /** Completes when the VM's current (or last) boot has ended; at once when it never booted. */
    public CompletableFuture<?> bootEnded(String name) {
        try {
            return containerizer.wait(containerId(name));
        } catch (VesselException e) {
            if (e.code() != ErrorCode.NOT_FOUND) {
                throw e;
            }
            return CompletableFuture.completedFuture(null);
        }
    }

    /** Something done to one VM that must not overlap a create, start or rm. */
    @FunctionalInterface
    public interface MachineAction<T> {
        T apply(Machine machine) throws IOException;
    }

    /**
     * Runs {@code action} on the VM named {@code name} under the lock create, start and rm take: the VM is
     * neither started nor removed meanwhile (a running one may still stop, or power itself off).
     */
    public synchronized <T> T locked(String name, MachineAction<T> action) throws IOException {
        return action.apply(get(name));
    }

    public List<Machine> list() throws IOException {
        List<Machine> all = new ArrayList<>();
        for (String name : records.names()) {
            all.add(get(name));
        }
        return all;
    }

    public Machine get(String name) throws IOException {
        MachineRequest request = records.read(name)
                .orElseThrow(() -> VesselException.notFound("vm", "no VM named '" + name + "'"));
        Optional<ContainerStatus> boot;
        try {
            boot = Optional.of(containerizer.status(containerId(name)));
        } catch (VesselException e) {
            if (e.code() != ErrorCode.NOT_FOUND) {
                throw e;
            }
            boot = Optional.empty();
        }
        return new Machine(request, boot, records.disk(name),
                paths.consoleLog(paths.containerDir(List.of(containerId(name)))));
    }

    private void boot(MachineRequest request) {
        containerizer.launch(containerConfig(request, images.path(request), records.disk(request.getName()), ""));
    }

    static String containerId(String name) {
        return CONTAINER_PREFIX + name;
    }

    /**
     * The container of one boot: the VM's machine on its own disk, its cloud-init instance the VM's name; resumed
     * from {@code resumeSnapshot} (empty: booted).
     */
    static ContainerConfig containerConfig(MachineRequest request, Path base, Path disk, String resumeSnapshot) {
        VmMachine.Builder machine = VmMachine.newBuilder()
                .setResumeSnapshot(resumeSnapshot)
                .setBaseImage(base.toString())
                .setBaseFormat(request.getImageFormat().isEmpty() ? "qcow2" : request.getImageFormat())
                .setDisk(disk.toString())
                .setDiskSizeBytes(request.getDiskSizeBytes())
                .setCloudInit(CloudInit.newBuilder().setInstanceId(request.getName()).setUserData(request.getUserData())
                        .addAllSshAuthorizedKeys(request.getSshAuthorizedKeysList()));
        return ContainerConfig.newBuilder()
                .setId(containerId(request.getName()))
                .setIsolation(Isolation.VM)
                .setHostname(request.getHostname().isEmpty() ? request.getName() : request.getHostname())
                .addAllNetworks(request.getNetworksList())
                .setResources(Resources.newBuilder().setGpus(request.getGpus()).setCpuShares(request.getCpuShares())
                        .setCpus(request.getCpuLimit()).addAllGpuAddresses(request.getGpuAddressesList()))
                // its vCPUs as asked, one by default: never sized from its limit, as a VM task's are
                .setVm(VmOptions.newBuilder().setVcpus(Math.max(1, request.getVcpus()))
                        .setMemoryBytes(request.getMemoryBytes())
                        .addAllDisks(request.getDisksList()).setMachine(machine))
                .build();
    }
}
