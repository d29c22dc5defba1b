package dev.vessel.node.machines;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.launcher.vm.domain.LiveDiskSnapshots;
import dev.vessel.launcher.vm.machine.BaseImage;
import dev.vessel.launcher.vm.machine.DiskSnapshot;
import dev.vessel.launcher.vm.machine.DiskSnapshots;
import dev.vessel.node.machines.Machines.Machine;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Snapshots and images of the node's VMs. A snapshot records a VM's disk, stopped or running, inside
 * that disk ({@link DiskSnapshots}: removing the VM removes them, and the base image is never written);
 * while the VM runs its QEMU takes and deletes them, else qemu-img does. Restoring puts the disk back
 * to a snapshot and is refused while the VM runs: the guest would find its disk changed under it. A
 * snapshot with memory holds the running guest's memory too (in the disk as well) and restores the VM as
 * a whole, its guest going on from the moment it was taken, in its running QEMU or a new one. An
 * image is the disk, base included, flattened into a new standalone image, read from a fresh snapshot
 * so that a running VM can be imaged too. Every refusal names its field and changes nothing.
 */
public final class MachineSnapshots {
    private static final System.Logger LOG = System.getLogger(MachineSnapshots.class.getName());
    /** Starting with a letter: qemu-img looks a snapshot up by its id, a number, before its name. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,59}");
    private static final Pattern ID_LIKE = Pattern.compile("[0-9]+");
    /** The snapshot an image is read from; outside {@link #NAME}, so it is never a client's. */
    private static final String IMAGE_SNAPSHOT_PREFIX = ".image-";
    private static final Set<String> IMAGE_FORMATS = Set.of("qcow2", "raw");

    private final Machines machines;
    private final RuntimePaths paths;
    private final Function<String, Optional<LiveDiskSnapshots>> runningDisks;

    /**
     * @param runningDisks by container id, the snapshots of a machine whose QEMU runs now (the VM
     *                     launcher's {@code runningMachineDisk})
     */
    public MachineSnapshots(Machines machines, RuntimePaths paths,
            Function<String, Optional<LiveDiskSnapshots>> runningDisks) {
        this.machines = machines;
        this.paths = paths;
        this.runningDisks = runningDisks;
    }

    /** The VM's disk as qemu-img reports it, with its snapshots; empty before its first boot made it. */
    public Optional<DiskSnapshots.Listing> disk(String name) throws IOException {
        Machine machine = machines.get(name);
        return Files.exists(machine.disk()) ? Optional.of(read(machine)) : Optional.empty();
    }

    public List<DiskSnapshot> list(String name) throws IOException {
        return disk(name).map(DiskSnapshots.Listing::snapshots).orElse(List.of());
    }

    /**
     * Takes the snapshot {@code snapshot} of the VM's disk, stopped or running; with {@code memory}, of the
     * running VM's disk and memory, so that a restore puts the running guest back as it was then.
     */
    public DiskSnapshot create(String name, String snapshot, boolean memory) throws IOException {
        machines.get(name);
        if (!NAME.matcher(snapshot).matches()) {
            throw VesselException.invalid("name", Quoted.of(snapshot) + " must be 1 to 60 letters, digits, '_', '.'"
                    + " or '-', starting with a letter");
        }
        return machines.locked(name, machine -> {
            if (find(machine, snapshot).isPresent()) {
                throw new VesselException(ErrorCode.ALREADY_EXISTS, "name", "the VM '" + name
                        + "' has a snapshot named '" + snapshot + "'");
            }
            if (memory) {
                LiveDiskSnapshots running = withMemory(machine);
                live(machine, "memory", () -> running.createWithMemory(snapshot),
                        "take the snapshot '" + snapshot + "' with its memory");
            } else {
                write(machine, "name", w -> w.create(snapshot), "take the snapshot '" + snapshot + "'");
            }
            return find(machine, snapshot).orElseThrow(() -> VesselException.internal("name", "the snapshot '"
                    + snapshot + "' was taken but is not listed", null));
        });
    }

    /** Deletes the snapshot, the VM stopped or running; the disk stays as it is. */
    public void delete(String name, String snapshot) throws IOException {
        machines.locked(name, machine -> {
            require(machine, snapshot);
            write(machine, "snapshot", w -> w.delete(snapshot), "delete the snapshot " + Quoted.of(snapshot));
            return null;
        });
    }

    /**
     * Puts the stopped VM's disk back to the snapshot, what the disk held since gone; or, for a snapshot
     * with memory, the VM as a whole, running or stopped: its guest runs on from the moment of the snapshot
     * (a stopped VM is started from it).
     */
    public DiskSnapshot restore(String name, String snapshot) throws IOException {
        return machines.locked(name, machine -> {
            DiskSnapshot found = require(machine, snapshot);
            if (found.vmStateBytes() > 0 && machine.state().equals("running")) {
                LiveDiskSnapshots running = withMemory(machine);
                live(machine, "snapshot", () -> running.restoreWithMemory(snapshot),
                        "restore the snapshot '" + snapshot + "' with its memory");
                return found;
            }
            if (found.vmStateBytes() > 0 && machine.state().equals("stopped")) {
                checkMemoryCanBeSaved(machine);
                machines.resume(name, snapshot);
                return found;
            }
            if (!machine.state().equals("stopped")) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, "vm", "the VM '" + name + "' is "
                        + machine.state() + ": stop it first, then restore its snapshot '" + snapshot + "' (a "
                        + "snapshot taken with its memory restores a running VM)");
            }
            try {
                DiskSnapshots.apply(machine.disk(), snapshot);
            } catch (IOException e) {
                throw VesselException.internal("snapshot", "cannot restore the snapshot '" + snapshot + "': "
                        + e.getMessage(), e);
            }
            return found;
        });
    }

    /**
     * Writes the VM's disk, base image included, as a new standalone image (no backing file) of
     * {@code format} (empty: qcow2) at {@code path}, which must not exist. The disk is read from a
     * snapshot taken for it and deleted after, so the VM may run and the copy, which takes a while for a
     * big disk, holds no lock; a failure leaves no file at {@code path}.
     */
    public BaseImage image(String name, String path, String format) throws IOException {
        Machine machine = machines.get(name);
        String imageFormat = format.isEmpty() ? "qcow2" : format;
        if (!IMAGE_FORMATS.contains(imageFormat)) {
            throw VesselException.invalid("format", Quoted.of(format) + " is not an image format Vessel writes: qcow2 or raw");
        }
        Path target = imageTarget(path);
        String source = IMAGE_SNAPSHOT_PREFIX + UUID.randomUUID();
        machines.locked(name, m -> {
            write(m, "vm", w -> w.create(source), "snapshot the disk for an image");
            return null;
        });
        try {
            DiskSnapshots.flatten(machine.disk(), source, target, imageFormat);
        } catch (FileAlreadyExistsException e) {
            throw exists(target);
        } catch (IOException e) {
            throw VesselException.internal("path", "cannot write the image " + target + ": " + e.getMessage(), e);
        } finally {
            dropImageSnapshot(name, source);
        }
        return BaseImage.inspect(target, imageFormat);
    }

    /** A new image's path: absolute, outside Vessel's own trees, in an existing directory, not taken. */
    private Path imageTarget(String path) {
        if (path.isEmpty()) {
            throw VesselException.invalid("path", "the new image's path is required");
        }
        Path target = Path.of(path);
        if (!target.isAbsolute()) {
            throw VesselException.invalid("path", "must be an absolute path, not " + Quoted.of(path));
        }
        target = target.normalize();
        if (target.startsWith(paths.stateDir().toAbsolutePath().normalize())
                || target.startsWith(paths.runDir().toAbsolutePath().normalize())) {
            throw VesselException.invalid("path", Quoted.of(path) + " is inside the node's own directories");
        }
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw exists(target);
        }
        if (target.getParent() == null || !Files.isDirectory(target.getParent())) {
            throw VesselException.invalid("path", "the directory of " + Quoted.of(path) + " does not exist on this node");
        }
        return target;
    }

    private static VesselException exists(Path target) {
        return new VesselException(ErrorCode.ALREADY_EXISTS, "path", Quoted.of(target)
                + " exists: an image never replaces a file");
    }

    /** The snapshot an image was read from, deleted; one left behind is listed, and can be deleted by name. */
    private void dropImageSnapshot(String name, String snapshot) {
        try {
            machines.locked(name, m -> {
                write(m, "vm", w -> w.delete(snapshot), "delete the snapshot '" + snapshot + "'");
                return null;
            });
        } catch (IOException | RuntimeException e) {
            boolean removed = e instanceof VesselException v && v.code() == ErrorCode.NOT_FOUND; // its disk with it
            if (!removed) {
                LOG.log(Level.WARNING, "the snapshot ''{0}'' of VM ''{1}'', taken for an image, is left: {2}",
                        snapshot, name, e.getMessage());
            }
        }
    }

    private interface WriterCall {
        void apply(DiskSnapshots.Writer writer) throws IOException;
    }

    private interface LiveCall {
        void run() throws IOException;
    }

    /** The running VM's QEMU, for a snapshot with memory; refused naming {@code memory} for a VM that does not run. */
    private LiveDiskSnapshots withMemory(Machine machine) {
        String name = machine.request().getName();
        checkMemoryCanBeSaved(machine);
        if (!machine.state().equals("running")) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "memory", "the VM '" + name + "' is "
                    + machine.state() + ": a snapshot with memory is taken of a running VM");
        }
        return runningDisks.apply(Machines.containerId(name)).orElseThrow(() -> new VesselException(
                ErrorCode.FAILED_PRECONDITION, "vm", "the VM '" + name + "' is starting or stopping: try again"));
    }

    /**
     * Refused naming {@code memory}: a VM with data disks (a restore would put its memory back but not what they
     * held, which its page cache and filesystems would then contradict) or GPUs (devices whose state QEMU cannot
     * save).
     */
    private static void checkMemoryCanBeSaved(Machine machine) {
        String name = machine.request().getName();
        if (!machine.request().getDisksList().isEmpty()) {
            throw VesselException.invalid("memory", "the VM '" + name + "' has data disks: a snapshot with memory "
                    + "holds its disk alone, and a restore would contradict what the data disks hold");
        }
        if (machine.request().getGpus() > 0 || machine.request().getGpuAddressesCount() > 0) {
            throw VesselException.invalid("memory", "the VM '" + name + "' has GPUs, whose state QEMU cannot save");
        }
    }

    private static void live(Machine machine, String field, LiveCall call, String what) {
        try {
            call.run();
        } catch (IOException e) {
            throw VesselException.internal(field, "cannot " + what + " of VM '" + machine.request().getName() + "': "
                    + e.getMessage(), e);
        }
    }

    /**
     * {@code call} through whoever may write the VM's disk now: qemu-img while it is stopped, its QEMU
     * while it runs. A VM on its way up or down is refused, to be tried again.
     */
    private void write(Machine machine, String field, WriterCall call, String what) {
        String name = machine.request().getName();
        DiskSnapshots.Writer writer = switch (machine.state()) {
            case "stopped" -> {
                if (!Files.exists(machine.disk())) {
                    throw new VesselException(ErrorCode.FAILED_PRECONDITION, "vm", "the VM '" + name
                            + "' has no disk yet: start it once");
                }
                yield DiskSnapshots.offline(machine.disk());
            }
            case "running" -> runningDisks.apply(Machines.containerId(name)).orElseThrow(() -> new VesselException(
                    ErrorCode.FAILED_PRECONDITION, "vm", "the VM '" + name + "' is starting or stopping: try again"));
            default -> throw new VesselException(ErrorCode.FAILED_PRECONDITION, "vm", "the VM '" + name + "' is "
                    + machine.state() + ": try again once it runs or has stopped");
        };
        try {
            call.apply(writer);
        } catch (IOException e) {
            throw VesselException.internal(field, "cannot " + what + " of VM '" + name + "': " + e.getMessage(), e);
        }
    }

    /** The listed snapshot named exactly {@code snapshot}; refused naming it when there is none. */
    private DiskSnapshot require(Machine machine, String snapshot) {
        return find(machine, snapshot).orElseThrow(() -> VesselException.notFound("snapshot", "the VM '"
                + machine.request().getName() + "' has no snapshot " + Quoted.of(snapshot)));
    }

    /** By name only: digits alone could be another snapshot's id to qemu-img, and are never looked up. */
    private Optional<DiskSnapshot> find(Machine machine, String snapshot) {
        if (ID_LIKE.matcher(snapshot).matches() || !Files.exists(machine.disk())) {
            return Optional.empty();
        }
        return read(machine).snapshots().stream().filter(s -> s.name().equals(snapshot)).findFirst();
    }

    private static DiskSnapshots.Listing read(Machine machine) {
        try {
            return DiskSnapshots.read(machine.disk());
        } catch (IOException e) {
            throw VesselException.internal("vm", "cannot read the disk of VM '" + machine.request().getName() + "': "
                    + e.getMessage(), e);
        }
    }
}
