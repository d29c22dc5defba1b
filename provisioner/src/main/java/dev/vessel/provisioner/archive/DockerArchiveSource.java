package dev.vessel.provisioner.archive;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.provisioner.image.Descriptor;
import dev.vessel.provisioner.image.ImageConfig;
import dev.vessel.provisioner.image.ImageLoader;
import dev.vessel.provisioner.image.Json;
import dev.vessel.provisioner.image.MediaTypes;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.limits.CappedReads;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * Imports an image from a {@code docker save} tarball ({@code manifest.json}, a config, uncompressed layer
 * tars) into the blob store. Each layer is verified against its diff_id from the config. The archive has no
 * registry manifest, so an equivalent OCI manifest is written to the store and names the image. The
 * reference's tag picks the image by one of its {@code RepoTags} ({@code name:tag}); with none the archive
 * must hold one image.
 */
public final class DockerArchiveSource {
    private record ArchiveEntry(@JsonProperty("Config") String config, @JsonProperty("RepoTags") List<String> repoTags,
                                @JsonProperty("Layers") List<String> layers) {
    }

    private record OciManifest(int schemaVersion, String mediaType, Descriptor config, List<Descriptor> layers) {
    }

    private final BlobStore store;
    private final ImageLoader loader;

    public DockerArchiveSource(BlobStore store, ImageLoader loader) {
        this.store = store;
        this.loader = loader;
    }

    public PulledImage importImage(ImageReference ref) throws IOException {
        String name = ImageReferenceParser.format(ref);
        try (TarFile tar = new TarFile(Path.of(ref.getPath()))) {
            Map<String, TarArchiveEntry> entries = new HashMap<>();
            for (TarArchiveEntry e : tar.getEntries()) {
                entries.put(e.getName().replaceFirst("^\\./", ""), e);
            }
            ArchiveEntry image = select(List.of(Json.MAPPER.readValue(read(tar, entries, "manifest.json", name),
                    ArchiveEntry[].class)), ref.getTag(), name);
            byte[] configBytes = read(tar, entries, image.config(), name);
            Digest configDigest = Digest.sha256(configBytes);
            ImageConfig config = ImageConfig.parse(configBytes, name + " config");
            if (config.diffIds().size() != image.layers().size()) {
                throw new VesselException(ErrorCode.DATA_LOSS, name, "archive lists " + image.layers().size()
                        + " layers but the config has " + config.diffIds().size() + " diff_ids");
            }
            store.write(configDigest, configBytes);
            List<Descriptor> layers = new ArrayList<>();
            for (int i = 0; i < image.layers().size(); i++) {
                TarArchiveEntry entry = entry(entries, image.layers().get(i), name);
                Digest diffId = config.diffIds().get(i);
                store.ensure(diffId, entry.getSize(), () -> tar.getInputStream(entry));
                layers.add(new Descriptor(MediaTypes.OCI_LAYER, diffId, entry.getSize()));
            }
            byte[] manifest = Json.MAPPER.writeValueAsBytes(new OciManifest(2, MediaTypes.OCI_MANIFEST,
                    new Descriptor(MediaTypes.OCI_CONFIG, configDigest, configBytes.length), layers));
            Digest manifestDigest = Digest.sha256(manifest);
            store.write(manifestDigest, manifest);
            PulledImage pulled = loader.load(ref, manifestDigest);
            loader.remember(pulled);
            return pulled;
        }
    }

    private static ArchiveEntry select(List<ArchiveEntry> images, String tag, String name) {
        if (tag.isEmpty()) {
            if (images.size() != 1) {
                throw VesselException.invalid("image", name + " holds " + images.size() + " images; name one by tag: "
                        + tags(images));
            }
            return images.getFirst();
        }
        String wanted = ImageReferenceParser.format(ImageReferenceParser.parse(tag));
        return images.stream()
                .filter(i -> i.repoTags() != null && i.repoTags().stream()
                        .anyMatch(t -> ImageReferenceParser.format(ImageReferenceParser.parse(t)).equals(wanted)))
                .findFirst()
                .orElseThrow(() -> VesselException.notFound("image", name + ": no image tagged '" + tag
                        + "' in the archive; tags: " + tags(images)));
    }

    private static List<String> tags(List<ArchiveEntry> images) {
        return images.stream().flatMap(i -> i.repoTags() == null ? Stream.<String>empty() : i.repoTags().stream()).toList();
    }

    private static TarArchiveEntry entry(Map<String, TarArchiveEntry> entries, String file, String name) {
        TarArchiveEntry e = entries.get(file);
        if (e == null) {
            throw VesselException.invalid("image", name + " is not a docker-archive: it has no " + file);
        }
        return e;
    }

    /** A metadata document of the archive (manifest.json, a config), refused unread past the document cap. */
    private byte[] read(TarFile tar, Map<String, TarArchiveEntry> entries, String file, String name) throws IOException {
        return CappedReads.read(tar.getInputStream(entry(entries, file, name)), loader.maxDocumentBytes(), name + " " + file);
    }
}
