package dev.vessel.launcher.vm.domain;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vessel.launcher.vm.machine.DiskSnapshots;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Snapshots of a running machine's disk, taken and deleted by the machine's own QEMU, which holds the
 * image's write lock (qemu-img cannot). The guest runs on meanwhile; each snapshot is the disk alone,
 * as {@link DiskSnapshots} keeps them, so that one taken here is applied by qemu-img once the VM is off.
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
 * metadata for Vessel's transient domains either way).
 */
public final class LiveDiskSnapshots implements DiskSnapshots.Writer {
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
