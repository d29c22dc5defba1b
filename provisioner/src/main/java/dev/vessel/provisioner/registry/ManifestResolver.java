package dev.vessel.provisioner.registry;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.provisioner.image.Descriptor;
import dev.vessel.provisioner.image.ManifestDocument;
import dev.vessel.provisioner.image.ManifestDocument.ImageManifest;
import dev.vessel.provisioner.image.ManifestDocument.ManifestList;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.registry.ManifestEndpoint.FetchedManifest;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.util.Optional;

/** Reference → the image manifest for this platform, going through an index or manifest list when there is one. */
public final class ManifestResolver {
    /** The image manifest chosen, its verified bytes and digest. */
    public record ResolvedManifest(Digest digest, byte[] content, ImageManifest manifest) {
    }

    private final ManifestEndpoint endpoint;
    private final PlatformSelector selector;

    public ManifestResolver(ManifestEndpoint endpoint, PlatformSelector selector) {
        this.endpoint = endpoint;
        this.selector = selector;
    }

    public ResolvedManifest resolve(ImageReference ref) throws IOException, InterruptedException {
        String name = ImageReferenceParser.format(ref);
        Optional<Digest> pinned = ref.getDigest().isEmpty() ? Optional.empty() : Optional.of(Digest.parse("image", ref.getDigest()));
        FetchedManifest fetched = endpoint.get(ref, pinned);
        ManifestDocument doc = ManifestDocument.parse(fetched.content(), fetched.mediaType(), name);
        if (doc instanceof ManifestList list) {
            Descriptor chosen = selector.select(list, name);
            fetched = endpoint.get(ref, Optional.of(chosen.parsedDigest(name)));
            doc = ManifestDocument.parse(fetched.content(), chosen.mediaType(), name);
            if (!(doc instanceof ImageManifest)) {
                throw VesselException.invalid("image", name + ": index entry " + chosen.digest() + " is itself an index");
            }
        }
        return new ResolvedManifest(fetched.digest(), fetched.content(), (ImageManifest) doc);
    }
}
