package dev.vessel.provisioner.limits;

/**
 * How much the provisioner takes from a registry or an archive, which it does not trust: every
 * metadata document is read whole into memory, and every layer is written to the node's disk.
 *
 * @param maxDocumentBytes      a manifest, an index, an image config, an OCI layout's {@code index.json}, a
 *                              docker-archive's {@code manifest.json} (real ones are a few KiB; OCI distribution
 *                              registries refuse manifests over 4 MiB)
 * @param maxTokenResponseBytes a registry token realm's answer (real ones hold a JWT of a few KiB)
 * @param maxLayerUnpackedBytes the bytes of file content one layer may write when unpacked
 * @param maxLayerEntries       the tar entries of one layer (files, directories, links, whiteouts)
 */
public record ProvisionerLimits(long maxDocumentBytes, long maxTokenResponseBytes, long maxLayerUnpackedBytes,
                                long maxLayerEntries) {
    public static final ProvisionerLimits DEFAULTS = new ProvisionerLimits(4L << 20, 64L << 10, 16L << 30, 1_000_000);

    public ProvisionerLimits {
        if (maxDocumentBytes <= 0 || maxTokenResponseBytes <= 0 || maxLayerUnpackedBytes <= 0 || maxLayerEntries <= 0) {
            throw new IllegalArgumentException("provisioner limits must be positive: " + maxDocumentBytes + ", "
                    + maxTokenResponseBytes + ", " + maxLayerUnpackedBytes + ", " + maxLayerEntries);
        }
    }
}
