package dev.vessel.provisioner.image;

import dev.vessel.provisioner.layer.LayerCompression;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.provisioner.image.ManifestDocument.ImageManifest;
import dev.vessel.provisioner.limits.CappedReads;
import dev.vessel.provisioner.limits.ProvisionerLimits;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import dev.vessel.provisioner.store.ImageIndex;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Builds a {@link PulledImage} from a manifest already in the blob store, checking every blob it names is there.
 * Owns how big a metadata document (manifest, index, config) may be: sources check it before fetching one.
 */
public final class ImageLoader {
    private final BlobStore store;
    private final ImageIndex index;
    private final long maxDocumentBytes;

    public ImageLoader(BlobStore store, ImageIndex index) {
        this(store, index, ProvisionerLimits.DEFAULTS);
    }

    public ImageLoader(BlobStore store, ImageIndex index, ProvisionerLimits limits) {
        this.store = store;
        this.index = index;
        this.maxDocumentBytes = limits.maxDocumentBytes();
    }

    public long maxDocumentBytes() {
        return maxDocumentBytes;
    }

    /** A metadata document from the blob store, refused unread past the cap. */
    public byte[] readDocument(Digest digest, String document) throws IOException {
        return CappedReads.read(store.open(digest), maxDocumentBytes, document);
    }

    /** The image as last pulled or imported under this reference, without asking any registry. */
    public Optional<PulledImage> resolveLocal(ImageReference reference) throws IOException {
        Optional<ImageIndex.Entry> entry = index.lookup(ImageReferenceParser.format(reference));
        return entry.isEmpty() ? Optional.empty() : Optional.of(load(reference, entry.get().manifest()));
    }

    /** Records that {@code image} is now in the store, for {@link #resolveLocal}. */
    public void remember(PulledImage image) throws IOException {
        index.record(ImageReferenceParser.format(image.reference()), image.manifestDigest());
    }

    public PulledImage load(ImageReference reference, Digest manifestDigest) throws IOException {
        String name = ImageReferenceParser.format(reference);
        if (!(ManifestDocument.parse(readDocument(manifestDigest, "manifest " + manifestDigest), null, name) instanceof ImageManifest manifest)) {
            throw VesselException.invalid("image", name + ": manifest " + manifestDigest + " is an index, not an image manifest");
        }
        Digest configDigest = manifest.config().parsedDigest(name + " config");
        ImageConfig config = ImageConfig.parse(readDocument(configDigest, "config " + configDigest), "config " + configDigest);
        List<Layer> layers = new ArrayList<>();
        for (Descriptor d : manifest.layers()) {
            Digest digest = d.parsedDigest(name + " layer");
            if (!store.has(digest)) {
                throw VesselException.notFound("blob " + digest, "layer of " + name + " is not in the blob store");
            }
            layers.add(new Layer(digest, d.mediaType(), LayerCompression.fromMediaType(d.mediaType()), d.size()));
        }
        if (layers.size() != config.diffIds().size()) {
            throw new VesselException(ErrorCode.DATA_LOSS, name, "manifest has " + layers.size()
                    + " layers but the config lists " + config.diffIds().size() + " diff_ids");
        }
        return new PulledImage(reference, manifestDigest, configDigest, layers, config.diffIds(), config.defaults(),
                config.platform());
    }
}
