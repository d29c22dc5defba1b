package dev.vessel.node.machines;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.vessel.core.checkpoint.AtomicFiles;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.CloudInit;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.MachineRequest;
import dev.vessel.core.model.VmMachine;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.paths.DirectoryEntries;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.Trees;
import dev.vessel.core.spi.Containerizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * The node's long-lived VMs (OpenStack-style): each is a directory under {@code machines/<name>/}
 * holding what it was created with and its own disk, and each boot is a container {@code vm-<name>}
 * whose {@code vm.machine} boots that disk — so the containerizer, its isolators and its recovery do
 * the running, and a VM keeps running while the daemon restarts. Stopping ends the container (an
 * ACPI shutdown, then a forced one after the timeout) and keeps the disk; starting boots a new
 * container from the same disk; removing takes the container, the disk and the directory.
 */
public final class Machines {
    static final String CONTAINER_PREFIX = "vm-";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,59}");
    private static final int SIGTERM = 15;
    private static final String REQUEST = "request.pb";
    private static final String DISK = "disk.qcow2";

    private final Containerizer containerizer;
    private final RuntimePaths paths;

    public Machines(Containerizer containerizer, RuntimePaths paths) {
        this.containerizer = containerizer;
        this.paths = paths;
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

    /** Creates the VM and boots it; refused naming the field, with nothing left behind, when it cannot boot. */
    public synchronized Machine create(MachineRequest request) throws IOException {
        String name = request.getName();
        if (!NAME.matcher(name).matches()) {
            throw VesselException.invalid("name", "'" + name + "' must be 1 to 60 letters, digits, '_', '.' or '-',"
                    + " starting with a letter or digit");
        }
        Path dir = paths.machinesDir().resolve(name);
        if (Files.exists(dir)) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, "name", "a VM named '" + name + "' exists");
        }
        Files.createDirectories(paths.machinesDir());
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            AtomicFiles.write(dir.resolve(REQUEST), request.toByteArray());
            boot(request);
        } catch (IOException | RuntimeException e) {
            try {
                Trees.delete(dir);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return get(name);
    }

    /** Boots a stopped VM again from its disk. */
    public synchronized Machine start(String name) throws IOException {
        Machine machine = get(name);
        if (machine.state().equals("running")) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "name", "the VM '" + name + "' runs already");
        }
        if (machine.boot().isPresent()) {
            containerizer.remove(containerId(name)); // the last boot's record, ended
        }
        boot(machine.request());
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
        Trees.delete(paths.machinesDir().resolve(name));
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
        for (Path dir : DirectoryEntries.matching(paths.machinesDir(), "*")) {
            if (Files.isRegularFile(dir.resolve(REQUEST))) {
                all.add(get(dir.getFileName().toString()));
            }
        }
        return all;
    }

    public Machine get(String name) throws IOException {
        Path dir = NAME.matcher(name).matches() ? paths.machinesDir().resolve(name) : null;
        if (dir == null || !Files.isRegularFile(dir.resolve(REQUEST))) {
            throw VesselException.notFound("vm", "no VM named '" + name + "'");
        }
        MachineRequest request;
        try {
            request = MachineRequest.parseFrom(Files.readAllBytes(dir.resolve(REQUEST)));
        } catch (InvalidProtocolBufferException e) {
            throw VesselException.internal("vm", "the record of VM '" + name + "' is damaged: " + e.getMessage(), e);
        }
        Optional<ContainerStatus> boot;
        try {
            boot = Optional.of(containerizer.status(containerId(name)));
        } catch (VesselException e) {
            if (e.code() != ErrorCode.NOT_FOUND) {
                throw e;
            }
            boot = Optional.empty();
        }
        return new Machine(request, boot, dir.resolve(DISK),
                paths.consoleLog(paths.containerDir(List.of(containerId(name)))));
    }

    private void boot(MachineRequest request) {
        containerizer.launch(containerConfig(request, paths.machinesDir().resolve(request.getName()).resolve(DISK)));
    }

    static String containerId(String name) {
        return CONTAINER_PREFIX + name;
    }

    /** The container of one boot: the VM's machine on its own disk, its cloud-init instance the VM's name. */
    static ContainerConfig containerConfig(MachineRequest request, Path disk) {
        VmMachine.Builder machine = VmMachine.newBuilder()
                .setBaseImage(request.getImage())
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
                .setVm(VmOptions.newBuilder().setVcpus(request.getVcpus()).setMemoryBytes(request.getMemoryBytes())
                        .addAllDisks(request.getDisksList()).setMachine(machine))
                .build();
    }
}
