package dev.vessel.launcher.vm.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.launcher.vm.machine.DiskSnapshots;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

/**
 * Snapshots of a running machine's disk, taken and deleted by the machine's own QEMU, which holds the
 * image's write lock (qemu-img cannot). Either the disk alone, the guest running on meanwhile, as
 * {@link DiskSnapshots} keeps them, so that one taken here is applied by qemu-img once the VM is off; or
 * the disk with the guest's memory ({@link #createWithMemory}), which puts the running guest back as it
 * was ({@link #restoreWithMemory}), as {@code virsh snapshot-create}/{@code snapshot-revert} do.
 *
 * <p>Why QEMU's {@code blockdev-snapshot-internal-sync} through libvirt's monitor passthrough: libvirt 9.0
 * takes internal snapshots of a running domain only as whole system checkpoints. Asked for the disk alone
 * ({@code <disk name='vda' snapshot='internal'/>} with {@code VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY}) it
 * answers "active qemu domains require external disk snapshots", and with {@code <memory snapshot='no'/>}
 * "internal snapshot of a running VM must include the memory state". A checkpoint pauses the guest while
 * its whole memory is written into the disk (about 0.6 s and 230 MB for a guest half way through its
 * boot) for a restore that puts back the disk alone; an external snapshot would add a file to the disk's
 * backing chain. The QMP command snapshots the disk alone in milliseconds. The price: libvirt marks the
 * domain as tainted ("custom-monitor"), and it knows nothing of these snapshots (it keeps no snapshot
 * metadata for Vessel's transient domains either way, and reverts none without it): the snapshots with
 * memory are QEMU's {@code snapshot-save}/{@code snapshot-load} jobs for the same reason.
 */
public final class LiveDiskSnapshots implements DiskSnapshots.Writer {
    /** A snapshot with memory writes (or reads) the whole guest memory into (from) the disk: seconds under TCG. */
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(5);
    private static final long JOB_POLL_MILLIS = 50;

    private final LibvirtDomains libvirt;
    private final String domainUuid;
    private final Path disk;

    /** The disk {@code disk} as the running domain with this uuid has it open. */
    public LiveDiskSnapshots(LibvirtDomains libvirt, String domainUuid, Path disk) {
        this.libvirt = libvirt;
        this.domainUuid = domainUuid;
        this.disk = disk.toAbsolutePath().normalize();
    }

    @Override
    public void create(String name) throws IOException {
        onDisk("blockdev-snapshot-internal-sync", name);
    }

    @Override
    public void delete(String name) throws IOException {
        onDisk("blockdev-snapshot-delete-internal-sync", name);
    }

    /**
     * Takes the snapshot {@code name} of the disk with the guest's memory and devices' state in it (QEMU's
     * {@code snapshot-save}, what {@code savevm} does): the guest is paused while its memory is written into
     * the disk, then runs on.
     */
    public void createWithMemory(String name) throws IOException {
        runJob("snapshot-save", name);
    }

    /**
     * Puts the disk, the guest's memory and its devices back as the snapshot {@code name} (taken with
     * {@link #createWithMemory}) holds them ({@code snapshot-load}): the guest runs on from that moment.
     */
    public void restoreWithMemory(String name) throws IOException {
        runJob("snapshot-load", name);
    }

    /** {@code command} as a QEMU job on the disk (its memory state kept in it too), waited for and dismissed. */
    private void runJob(String command, String name) throws IOException {
        String node = nodeName();
        String job = "vessel-" + command + "-" + UUID.randomUUID();
        ObjectNode arguments = Qmp.arguments().put("job-id", job).put("tag", name).put("vmstate", node);
        arguments.putArray("devices").add(node);
        Qmp.call(libvirt, domainUuid, Qmp.request(command, arguments));
        long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
        while (true) {
            for (JsonNode listed : Qmp.call(libvirt, domainUuid, Qmp.request("query-jobs", Qmp.arguments()))) {
                if (listed.path("id").asText().equals(job) && listed.path("status").asText().equals("concluded")) {
                    Qmp.call(libvirt, domainUuid, Qmp.request("job-dismiss", Qmp.arguments().put("id", job)));
                    if (listed.has("error")) {
                        throw new IOException(listed.path("error").asText());
                    }
                    return;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("QEMU's " + command + " did not finish within " + JOB_TIMEOUT.toMinutes()
                        + " minutes");
            }
            try {
                Thread.sleep(JOB_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while QEMU's " + command + " ran");
            }
        }
    }

    private void onDisk(String command, String name) throws IOException {
        Qmp.call(libvirt, domainUuid, Qmp.request(command, Qmp.arguments().put("device", nodeName()).put("name", name)));
    }

    /**
     * QEMU's name for the disk's qcow2 node: libvirt gives every node one of its own ({@code libvirt-N-format}),
     * so it is looked up by the file the node opened.
     */
    private String nodeName() throws IOException {
        for (JsonNode device : Qmp.call(libvirt, domainUuid, Qmp.request("query-block", Qmp.arguments()))) {
            JsonNode inserted = device.path("inserted");
            if (inserted.hasNonNull("file") && Path.of(inserted.get("file").asText()).normalize().equals(disk)) {
                return inserted.path("node-name").asText();
            }
        }
        throw new IOException("QEMU has no disk open at " + disk);
    }
}
