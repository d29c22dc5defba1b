package dev.vessel.provisioner.registry;

import dev.vessel.core.error.VesselException;
import dev.vessel.provisioner.image.Descriptor;
import dev.vessel.provisioner.image.ManifestDocument.ManifestList;
import dev.vessel.provisioner.image.Platform;
import java.util.stream.Collectors;

/** Picks the manifest for this node's platform from an OCI index or a Docker manifest list. */
public final class PlatformSelector {
    private final Platform target;

    public PlatformSelector(Platform target) {
        this.target = target;
    }

    /** The first entry for the target platform; NOT_FOUND listing what the index offers when there is none. */
    public Descriptor select(ManifestList list, String name) {
        return list.manifests().stream()
                .filter(d -> target.matches(d.platform()))
                .findFirst()
                .orElseThrow(() -> VesselException.notFound("image", name + " has no manifest for " + target
                        + "; available platforms: " + list.manifests().stream()
                                .map(d -> d.platform() == null ? "(none given)" : d.platform().toString())
                                .collect(Collectors.joining(", "))));
    }
}
