package dev.vessel.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.model.MachineImageRequest;
import dev.vessel.core.model.MachineRequest;
import dev.vessel.core.model.MachineUpdate;
import dev.vessel.launcher.process.LogReader;
import dev.vessel.core.model.MachineSnapshotRequest;
import dev.vessel.launcher.vm.machine.BaseImage;
import dev.vessel.launcher.vm.machine.DiskSnapshot;
import dev.vessel.launcher.vm.machine.DiskSnapshots;
import dev.vessel.node.machines.MachineSnapshots;
import dev.vessel.node.machines.Machines;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * {@code /v1/vms}: create, list, inspect, start, stop, reboot, delete, and the serial console (its log,
 * or attached) of long-lived VMs; their disks' snapshots ({@code /v1/vms/{name}/snapshots}) and images
 * ({@code /v1/vms/{name}/image}).
 */
final class MachinesApi {
    /** How long an orderly stop waits for the guest to power off before pulling the plug. */
    private static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(60);

    private final Machines machines;
    private final MachineSnapshots snapshots;

    MachinesApi(Machines machines, MachineSnapshots snapshots) {
        this.machines = machines;
        this.snapshots = snapshots;
    }

    /** Returns once the VM's QEMU runs (201); its guest then boots on its own. */
    void create(Exchange ex) throws Exception {
        ObjectNode json = ProtoJson.readObject(ex.body());
        MachineRequest request = ProtoJson.merge(json, MachineRequest.newBuilder(), "").build();
        ex.json(HttpResponseStatus.CREATED, print(machines.create(request)));
    }

    void list(Exchange ex) throws IOException {
        ex.json(HttpResponseStatus.OK, "{\"vms\":[" + machines.list().stream().map(MachinesApi::print)
                .collect(Collectors.joining(",")) + "]}");
    }

    /** The VM as listed, with its disk as qemu-img reports it and the disk's snapshots. */
    void inspect(Exchange ex) throws IOException {
        String name = ex.param("name");
        ObjectNode json = machine(machines.get(name));
        Optional<DiskSnapshots.Listing> disk = snapshots.disk(name);
        disk.ifPresent(d -> json.put("disk_file_bytes", d.fileBytes()).put("disk_size_bytes", d.virtualSizeBytes()));
        putSnapshots(json, disk.map(DiskSnapshots.Listing::snapshots).orElse(List.of()));
        ex.json(HttpResponseStatus.OK, json.toString());
    }

    /** {@code MachineUpdate}: kept for every boot, applied to a running one at once. */
    void update(Exchange ex) throws IOException {
        MachineUpdate update = ProtoJson.merge(ProtoJson.readObject(ex.body()), MachineUpdate.newBuilder(), "").build();
        ex.json(HttpResponseStatus.OK, print(machines.update(ex.param("name"), update)));
    }

    void start(Exchange ex) throws IOException {
        ex.json(HttpResponseStatus.OK, print(machines.start(ex.param("name"))));
    }

    /** {@code ?force=1}: no orderly shutdown; {@code ?timeout=S}: how long the guest may take to power off. */
    void stop(Exchange ex) throws Exception {
        ex.json(HttpResponseStatus.OK, print(machines.stop(ex.param("name"), ex.flag("force"), stopTimeout(ex))));
    }

    private static Duration stopTimeout(Exchange ex) {
        return StopTimeout.of(ex).orElse(DEFAULT_STOP_TIMEOUT);
    }

    /** {@code ?force=1} removes a running VM too. */
    void delete(Exchange ex) throws Exception {
        String name = ex.param("name");
        machines.remove(name, ex.flag("force"));
        ex.json(HttpResponseStatus.OK, ProtoJson.MAPPER.createObjectNode().put("name", name).toString());
    }

    /** {@code ?force=1} and {@code ?timeout=S} as for stop; then a fresh boot. */
    void reboot(Exchange ex) throws Exception {
        ex.json(HttpResponseStatus.OK, print(machines.reboot(ex.param("name"), ex.flag("force"), stopTimeout(ex))));
    }

    /**
     * What the VM's serial console printed during its current (or last) boot; with {@code ?follow=1}
     * also what it prints until that boot ends.
     */
    void logs(Exchange ex) throws IOException, InterruptedException {
        String name = ex.param("name");
        Machines.Machine machine = machines.get(name);
        Path log = machine.consoleLog();
        CompletableFuture<?> bootEnded = machines.bootEnded(name);
        LogFollower.stream(ex, "text/plain; charset=utf-8", (offset, max) -> LogReader.read(log, offset, max),
                ex.flag("follow"), bootEnded::isDone, bootEnded);
    }

    /**
     * The VM's serial console, interactively: the connection is upgraded to raw bytes both ways (see
     * {@link Exchange#upgrade}) and stays so until the client leaves or the VM stops.
     */
    void console(Exchange ex) throws Exception {
        ex.requireUpgradeRequest(); // before anything is attached
        try (Machines.ConsoleSession session = machines.attachConsole(ex.param("name"))) {
            ConsoleRelay.run(session.tty(), ex.upgrade());
        }
    }

    void snapshots(Exchange ex) throws IOException {
        ObjectNode json = ProtoJson.MAPPER.createObjectNode();
        putSnapshots(json, snapshots.list(ex.param("name")));
        ex.json(HttpResponseStatus.OK, json.toString());
    }

    /**
     * {@code {"name": …, "memory": …}}: a snapshot of the VM's disk, the VM stopped or running, with the running
     * VM's memory if asked (201).
     */
    void createSnapshot(Exchange ex) throws IOException {
        MachineSnapshotRequest request = ProtoJson.merge(ProtoJson.readObject(ex.body()), MachineSnapshotRequest.newBuilder(),
                "").build();
        DiskSnapshot taken = snapshots.create(ex.param("name"), request.getName(), request.getMemory());
        ex.json(HttpResponseStatus.CREATED, snapshot(taken).toString());
    }

    void deleteSnapshot(Exchange ex) throws IOException {
        String snapshot = ex.param("snapshot");
        snapshots.delete(ex.param("name"), snapshot);
        ex.json(HttpResponseStatus.OK, ProtoJson.MAPPER.createObjectNode().put("name", snapshot).toString());
    }

    /** Puts a stopped VM's disk back to the snapshot, or the VM, running from then on, to one that has memory. */
    void restoreSnapshot(Exchange ex) throws IOException {
        ex.json(HttpResponseStatus.OK, snapshot(snapshots.restore(ex.param("name"), ex.param("snapshot"))).toString());
    }

    /** {@code {"path": …, "format": …}}: the VM's disk as a new standalone image at path (201). */
    void image(Exchange ex) throws IOException {
        MachineImageRequest request = ProtoJson.merge(ProtoJson.readObject(ex.body()), MachineImageRequest.newBuilder(),
                "").build();
        BaseImage image = snapshots.image(ex.param("name"), request.getPath(), request.getFormat());
        ex.json(HttpResponseStatus.CREATED, ProtoJson.MAPPER.createObjectNode().put("path", image.path().toString())
                .put("format", image.format()).put("virtual_size_bytes", image.virtualSizeBytes()).toString());
    }

    private static void putSnapshots(ObjectNode json, List<DiskSnapshot> list) {
        var listed = json.putArray("snapshots");
        list.forEach(s -> listed.add(snapshot(s)));
    }

    private static ObjectNode snapshot(DiskSnapshot s) {
        return ProtoJson.MAPPER.createObjectNode().put("name", s.name()).put("created", s.created().toString())
                .put("vm_state_bytes", s.vmStateBytes());
    }

    private static String print(Machines.Machine m) {
        return machine(m).toString();
    }

    private static ObjectNode machine(Machines.Machine m) {
        ObjectNode json = ProtoJson.MAPPER.createObjectNode()
                .put("name", m.request().getName())
                .put("state", m.state());
        var ips = json.putArray("ip_addresses");
        m.boot().ifPresent(b -> b.getIpAddressesList().forEach(ips::add));
        json.put("disk", m.disk().toString()).put("console_log", m.consoleLog().toString());
        json.set("request", tree(ProtoJson.print(m.request())));
        m.boot().ifPresent(b -> json.set("boot", tree(ProtoJson.print(b))));
        return json;
    }

    private static com.fasterxml.jackson.databind.JsonNode tree(String json) {
        try {
            return ProtoJson.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException("protobuf printed JSON Jackson cannot read", e);
        }
    }
}
