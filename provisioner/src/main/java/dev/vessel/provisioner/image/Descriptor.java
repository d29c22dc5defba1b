package dev.vessel.provisioner.image;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.vessel.provisioner.store.Digest;
import java.util.Map;

/** An OCI content descriptor: what a manifest or index says about one blob or manifest it points to. */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record Descriptor(String mediaType, String digest, long size, Platform platform, Map<String, String> annotations) {
    public static final String REF_NAME = "org.opencontainers.image.ref.name";

    public Descriptor(String mediaType, Digest digest, long size) {
        this(mediaType, digest.toString(), size, null, null);
    }

    /** The parsed digest; {@code what} names the document for the error. */
    public Digest parsedDigest(String what) {
        return Digest.parse(what, digest);
    }

    public String annotation(String key) {
        return annotations == null ? null : annotations.get(key);
    }
}
