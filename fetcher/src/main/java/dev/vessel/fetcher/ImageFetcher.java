package dev.vessel.fetcher;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.FetchUri;
import dev.vessel.provisioner.ImageProvisioner;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/**
 * Images as URIs, {@code docker://registry/repository:tag} or {@code image:repository:tag}: the image
 * is brought into the image store (a prefetch of an image) and nothing is written to the sandbox.
 * {@code expected_digest}, when given, must be the image manifest's digest.
 */
public final class ImageFetcher implements Prefetcher {
    private static final String DOCKER = "docker://";
    private static final String IMAGE = "image:";

    private final ImageProvisioner provisioner;

    public ImageFetcher(ImageProvisioner provisioner) {
        this.provisioner = provisioner;
    }

    @Override
    public Set<String> schemes() {
        return Set.of("docker", "image");
    }

    @Override
    public Fetched fetch(FetchUri uri, Path sandbox) throws IOException {
        boolean present = provisioner.images().stream().anyMatch(e -> e.reference().equals(
                ImageReferenceParser.format(ImageReferenceParser.parse(reference(uri.getUri())))));
        Digest manifest = prefetch(uri);
        return new Fetched(sandbox, manifest.toString(), 0, present);
    }

    private static String reference(String uri) {
        return uri.regionMatches(true, 0, DOCKER, 0, DOCKER.length()) ? uri.substring(DOCKER.length())
                : uri.substring(IMAGE.length());
    }

    @Override
    public Digest prefetch(FetchUri u) {
        String uri = u.getUri();
        if (u.getExtract() || u.getExecutable() || !u.getOutputFile().isEmpty() || u.getMaxSizeBytes() != 0) {
            throw VesselException.invalid(uri, "an image URI writes nothing to the sandbox:"
                    + " extract, executable, output_file and max_size_bytes do not apply");
        }
        PulledImage image = provisioner.resolve(ImageReferenceParser.parse(reference(uri)));
        if (!u.getExpectedDigest().isEmpty()
                && !image.manifestDigest().equals(Digest.parse(uri, u.getExpectedDigest()))) {
            throw new VesselException(ErrorCode.DATA_LOSS, uri, "'" + uri + "' resolved to manifest "
                    + image.manifestDigest() + ", but expected_digest is " + u.getExpectedDigest());
        }
        return image.manifestDigest();
    }
}
