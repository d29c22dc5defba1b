package dev.vessel.provisioner.image;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.HealthCheck;
import dev.vessel.core.model.ImageDefaults;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.util.List;

/**
 * What Vessel uses of an OCI image config: the platform, the container defaults (Docker's Healthcheck among them)
 * and the layers' diff_ids.
 */
public record ImageConfig(Platform platform, ImageDefaults defaults, List<Digest> diffIds) {
    private record Document(String os, String architecture, String variant, Config config, RootFs rootfs) {
    }

    private record Config(@JsonProperty("Entrypoint") List<String> entrypoint, @JsonProperty("Cmd") List<String> cmd,
                          @JsonProperty("Env") List<String> env, @JsonProperty("WorkingDir") String workingDir,
                          @JsonProperty("User") String user, @JsonProperty("StopSignal") String stopSignal,
                          @JsonProperty("Healthcheck") Healthcheck healthcheck) {
    }

    /** A Docker image's HEALTHCHECK (not in the OCI spec; buildah and docker write it): durations in nanoseconds. */
    private record Healthcheck(@JsonProperty("Test") List<String> test, @JsonProperty("Interval") long interval,
                               @JsonProperty("Timeout") long timeout, @JsonProperty("StartPeriod") long startPeriod,
                               @JsonProperty("Retries") int retries) {
        HealthCheck toProto() {
            return HealthCheck.newBuilder().addAllTest(orEmpty(test)).setIntervalMs(millis(interval))
                    .setTimeoutMs(millis(timeout)).setStartPeriodMs(Math.max(0, startPeriod / 1_000_000))
                    .setRetries(Math.max(0, retries)).build();
        }

        /** An image is no user to correct: a duration under the node's least (a second) is taken as that. */
        private static long millis(long nanos) {
            return nanos <= 0 ? 0 : Math.max(1000, nanos / 1_000_000);
        }
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
            if (c.healthcheck() != null && c.healthcheck().test() != null && !c.healthcheck().test().isEmpty()) {
                defaults.setHealthCheck(c.healthcheck().toProto());
            }
        }
        List<Digest> diffIds = doc.rootfs().diffIds().stream().map(d -> Digest.parse(what + " diff_id", d)).toList();
        return new ImageConfig(new Platform(doc.os(), doc.architecture(), doc.variant()), defaults.build(), diffIds);
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }
}
