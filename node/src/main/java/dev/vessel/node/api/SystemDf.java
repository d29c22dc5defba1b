package dev.vessel.node.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.volume.NamedVolumes;
import dev.vessel.provisioner.DiskUsage;
import dev.vessel.provisioner.layer.FileTrees;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /v1/system/df}: what images, the image store, containers, volumes and VMs' disks take on disk.
 * A container's size is its own: its rootfs's writes (never its image's layers, which the images count), its
 * VM rootfs view, and its run directory (sandbox, logs); an ended one's is reclaimable (a prune removes it).
 */
final class SystemDf {
    private final NodeServices node;
    private final ContainerUsers users;

    SystemDf(NodeServices node, ContainerUsers users) {
        this.node = node;
        this.users = users;
    }

    void df(Exchange ex) throws IOException {
        DiskUsage store = node.images().diskUsage();
        ObjectNode out = ProtoJson.MAPPER.createObjectNode();

        ArrayNode images = out.putArray("images");
        for (DiskUsage.Image image : store.images()) {
            images.addObject().put("reference", image.reference()).put("manifest_digest", image.manifestDigest())
                    .put("size_bytes", image.sizeBytes()).put("in_use", image.inUse());
        }
        out.putObject("store").put("blobs", store.blobs()).put("blob_bytes", store.blobBytes())
                .put("layers", store.layers()).put("layer_bytes", store.layerBytes())
                .put("size_bytes", store.blobBytes() + store.layerBytes())
                .put("reclaimable_bytes", store.reclaimableBytes());

        ArrayNode containers = out.putArray("containers");
        for (ContainerStatus c : node.containerizer().list()) {
            if (!c.getParentId().isEmpty()) {
                continue; // counted in its pod's run directory
            }
            long rootfs = store.containerBytes().getOrDefault(c.getId(), 0L)
                    + FileTrees.sizeOnItsDevice(node.paths().vmRootfsDir(c.getId()));
            long run = FileTrees.sizeOnItsDevice(node.paths().containerDir(List.of(c.getId())));
            containers.addObject().put("id", c.getId()).put("state", c.getState().name())
                    .put("rootfs_bytes", rootfs).put("run_dir_bytes", run).put("size_bytes", rootfs + run)
                    .put("reclaimable", c.getState() == ContainerState.TERMINATED);
        }
        ArrayNode volumes = out.putArray("volumes");
        for (NamedVolumes.Volume v : node.volumes().list()) {
            volumes.addObject().put("name", v.name()).put("size_bytes", FileTrees.sizeOnItsDevice(v.mountpoint()))
                    .put("in_use", !users.of(c -> c.getVolumesList().stream()
                            .anyMatch(used -> used.hasPersistent() && used.getPersistent().getName().equals(v.name()))).isEmpty());
        }
        out.set("vm_disks", sizes(node.paths().machinesDir(), "vm"));
        ex.json(HttpResponseStatus.OK, out.toString());
    }

    /** Each directory under {@code root} and its size; none when there is no such directory. */
    private static ArrayNode sizes(Path root, String key) throws IOException {
        ArrayNode list = ProtoJson.MAPPER.createArrayNode();
        if (!Files.isDirectory(root)) {
            return list;
        }
        Map<String, Long> found = new TreeMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root, Files::isDirectory)) {
            for (Path entry : entries) {
                found.put(entry.getFileName().toString(), FileTrees.sizeOnItsDevice(entry));
            }
        }
        found.forEach((name, size) -> list.addObject().put(key, name).put("size_bytes", size));
        return list;
    }
}
