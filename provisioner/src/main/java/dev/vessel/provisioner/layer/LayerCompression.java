package dev.vessel.provisioner.layer;

import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.io.InputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;

/** How a layer blob is compressed, as its OCI or Docker media type says. */
public enum LayerCompression {
    NONE, GZIP, ZSTD;

    /** Accepts the OCI layer types (distributable or not) and Docker's rootfs diff types. */
    public static LayerCompression fromMediaType(String mediaType) {
        return switch (mediaType) {
            case "application/vnd.oci.image.layer.v1.tar",
                 "application/vnd.oci.image.layer.nondistributable.v1.tar" -> NONE;
            case "application/vnd.oci.image.layer.v1.tar+gzip",
                 "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                 "application/vnd.docker.image.rootfs.diff.tar.gzip",
                 "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" -> GZIP;
            case "application/vnd.oci.image.layer.v1.tar+zstd",
                 "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" -> ZSTD;
            default -> throw VesselException.invalid("mediaType", "'" + mediaType + "' is not a layer media type"
                    + " (expected an OCI image layer tar, tar+gzip or tar+zstd, or a Docker rootfs diff)");
        };
    }

    /** The uncompressed tar stream of {@code blob}. */
    InputStream decompress(InputStream blob) throws IOException {
        return switch (this) {
            case NONE -> blob;
            // Concatenated gzip members are valid layers (pigz and some registries produce them).
            case GZIP -> GzipCompressorInputStream.builder().setInputStream(blob).setDecompressConcatenated(true).get();
            case ZSTD -> new ZstdCompressorInputStream(blob);
        };
    }
}
