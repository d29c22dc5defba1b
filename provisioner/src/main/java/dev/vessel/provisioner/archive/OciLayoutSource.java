package dev.vessel.provisioner.archive;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.provisioner.image.Descriptor;
import dev.vessel.provisioner.image.ImageLoader;
import dev.vessel.provisioner.image.ManifestDocument;
import dev.vessel.provisioner.image.ManifestDocument.ImageManifest;
import dev.vessel.provisioner.image.ManifestDocument.ManifestList;
import dev.vessel.provisioner.image.MediaTypes;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.limits.CappedReads;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.registry.PlatformSelector;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Imports an image from an OCI image-layout directory ({@code oci-layout}, {@code index.json}, {@code blobs/})
 * into the blob store, verifying every blob. The reference's tag picks the manifest by its
 * {@code org.opencontainers.image.ref.name} annotation; with no tag the layout must hold one image.
 */
public final class OciLayoutSource {
    private final BlobStore store;
    private final ImageLoader loader;
    private final PlatformSelector selector;

    public OciLayoutSource(BlobStore store, ImageLoader loader, PlatformSelector selector) {
        this.store = store;
        this.loader = loader;
        this.selector = selector;
    }

    public PulledImage importImage(ImageReference ref) throws IOException {
        Path dir = Path.of(ref.getPath());
        String name = ImageReferenceParser.format(ref);
        if (!Files.isRegularFile(dir.resolve("oci-layout"))) {
            throw VesselException.invalid("image.path", dir + " is not an OCI image layout (no oci-layout file)");
        }
        ManifestDocument index = ManifestDocument.parse(CappedReads.read(dir.resolve("index.json"),
                loader.maxDocumentBytes(), name + " index.json"), MediaTypes.OCI_INDEX, name + " index.json");
        Descriptor chosen = byTag((ManifestList) index, ref.getTag(), name);
        ManifestDocument doc = ManifestDocument.parse(copyDocument(dir, chosen, name), chosen.mediaType(), name);
        if (doc instanceof ManifestList list) {
            chosen = selector.select(list, name);
            doc = ManifestDocument.parse(copyDocument(dir, chosen, name), chosen.mediaType(), name);
        }
        if (!(doc instanceof ImageManifest manifest)) {
            throw VesselException.invalid("image", name + ": " + chosen.digest() + " is an index inside an index");
        }
        CappedReads.checkDeclared(manifest.config().size(), loader.maxDocumentBytes(),
                name + " config " + manifest.config().digest());
        copy(dir, manifest.config(), name);
        for (Descriptor layer : manifest.layers()) {
            copy(dir, layer, name);
        }
        PulledImage image = loader.load(ref, chosen.parsedDigest(name));
        loader.remember(image);
        return image;
    }

    private static Descriptor byTag(ManifestList index, String tag, String name) {
        if (tag.isEmpty()) {
            if (index.manifests().size() != 1) {
                throw VesselException.invalid("image", name + " holds " + index.manifests().size()
                        + " images; name one by tag: " + tags(index));
            }
            return index.manifests().getFirst();
        }
        return index.manifests().stream()
                .filter(d -> tag.equals(d.annotation(Descriptor.REF_NAME)))
                .findFirst()
                .orElseThrow(() -> VesselException.notFound("image", name + ": no image tagged '" + tag
                        + "' in the layout; tags: " + tags(index)));
    }

    private static List<String> tags(ManifestList index) {
        return index.manifests().stream().map(d -> d.annotation(Descriptor.REF_NAME)).filter(Objects::nonNull).toList();
    }

    /** Copies a manifest or index into the store and reads it back; refused before copying when too big. */
    private byte[] copyDocument(Path dir, Descriptor descriptor, String name) throws IOException {
        String document = name + " manifest " + descriptor.digest();
        CappedReads.checkDeclared(descriptor.size(), loader.maxDocumentBytes(), document);
        return loader.readDocument(copy(dir, descriptor, name), document);
    }

    /** Copies one blob into the store, verified against its descriptor; returns its digest. */
    private Digest copy(Path dir, Descriptor descriptor, String name) throws IOException {
        Digest digest = descriptor.parsedDigest(name);
        Path blob = dir.resolve("blobs").resolve(digest.algorithm()).resolve(digest.hex());
        try {
            store.ensure(digest, descriptor.size(), () -> Files.newInputStream(blob));
        } catch (NoSuchFileException e) {
            throw VesselException.notFound("blob " + digest, name + ": the layout has no " + blob);
        }
        return digest;
    }
}
