package dev.vessel.node.api;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.ImageSource;
import dev.vessel.provisioner.reference.ImageReferenceParser;

/**
 * An image as users write it: a registry reference ({@code busybox}, {@code 127.0.0.1:5000/app:1}) or
 * a local source in skopeo's transport syntax ({@code oci:/path[:tag]}, {@code docker-archive:/path[:tag]}),
 * the same form {@link ImageReferenceParser#format} writes.
 */
final class ImageRefs {
    private static final String OCI = "oci:";
    private static final String DOCKER_ARCHIVE = "docker-archive:";

    private ImageRefs() {
    }

    static ImageReference parse(String field, String text) {
        if (text.startsWith(OCI)) {
            return local(field, ImageSource.OCI_LAYOUT, text.substring(OCI.length()));
        }
        if (text.startsWith(DOCKER_ARCHIVE)) {
            return local(field, ImageSource.DOCKER_ARCHIVE, text.substring(DOCKER_ARCHIVE.length()));
        }
        try {
            return ImageReferenceParser.parse(text);
        } catch (VesselException e) {
            throw e.field().filter(field::equals).isPresent() ? e
                    : new VesselException(e.code(), field, e.getMessage(), e);
        }
    }

    private static ImageReference local(String field, ImageSource source, String pathAndTag) {
        int colon = pathAndTag.lastIndexOf(':');
        boolean tagged = colon > pathAndTag.lastIndexOf('/');
        String path = tagged ? pathAndTag.substring(0, colon) : pathAndTag;
        if (!path.startsWith("/")) {
            throw VesselException.invalid(field, "the path of '" + pathAndTag + "' must be absolute");
        }
        return ImageReference.newBuilder().setSource(source).setPath(path)
                .setTag(tagged ? pathAndTag.substring(colon + 1) : "").build();
    }
}
