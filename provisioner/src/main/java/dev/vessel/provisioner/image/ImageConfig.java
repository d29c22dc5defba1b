package dev.vessel.provisioner.image;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.ImageDefaults;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.util.List;

/** What Vessel uses of an OCI image config: the platform, the container defaults and the layers' diff_ids. */
public record ImageConfig(Platform platform, ImageDefaults defaults, List<Digest> diffIds) {
    private record Document(String os, String architecture, String variant, Config config, RootFs rootfs) {
    }

    private record Config(@JsonProperty("Entrypoint") List<String> entrypoint, @JsonProperty("Cmd") List<String> cmd,
                          @JsonProperty("Env") List<String> env, @JsonProperty("WorkingDir") String workingDir,
                          @JsonProperty("User") String user, @JsonProperty("StopSignal") String stopSignal) {
    }

    private record RootFs(String type, @JsonProperty("diff_ids") List<String> diffIds) {
    }

    /** Parses a config blob; {@code what} names it (e.g. its digest) in errors. */
    public static ImageConfig parse(byte[] json, String what) {
        Document doc;
        try {
            doc = Json.MAPPER.readValue(json, Document.class);
        } catch (IOException e) {
            throw new VesselException(ErrorCode.DATA_LOSS, what, "image config is not valid JSON: " + e.getMessage());
        }
        if (doc == null || doc.rootfs() == null || doc.rootfs().diffIds() == null) {
            throw new VesselException(ErrorCode.DATA_LOSS, what, "image config has no rootfs.diff_ids");
        }
        ImageDefaults.Builder defaults = ImageDefaults.newBuilder();
        Config c = doc.config();
        if (c != null) {
            defaults.addAllEntrypoint(orEmpty(c.entrypoint())).addAllCmd(orEmpty(c.cmd()));
            for (String entry : orEmpty(c.env())) {
                int eq = entry.indexOf('=');
                defaults.addEnv(EnvVar.newBuilder()
                        .setName(eq < 0 ? entry : entry.substring(0, eq))
                        .setValue(eq < 0 ? "" : entry.substring(eq + 1)));
            }
            defaults.setWorkingDir(c.workingDir() == null ? "" : c.workingDir()).setUser(c.user() == null ? "" : c.user())
                    .setStopSignal(c.stopSignal() == null ? "" : c.stopSignal());
        }
        List<Digest> diffIds = doc.rootfs().diffIds().stream().map(d -> Digest.parse(what + " diff_id", d)).toList();
        return new ImageConfig(new Platform(doc.os(), doc.architecture(), doc.variant()), defaults.build(), diffIds);
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }
}
