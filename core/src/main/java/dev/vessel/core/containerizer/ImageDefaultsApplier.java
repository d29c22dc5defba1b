package dev.vessel.core.containerizer;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.ImageDefaults;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Completes a container's config with its image's defaults, as Docker does: the config's command
 * replaces the image's Entrypoint and then drops the image's Cmd; the config's args replace the Cmd;
 * env is the image's overridden name by name; working dir, user, stop signal and health check fall back to the
 * image's (a
 * stop signal no one can parse is then SIGTERM's, as the image is not the user's to correct).
 */
final class ImageDefaultsApplier {
    private ImageDefaultsApplier() {
    }

    static ContainerConfig apply(ContainerConfig config, ImageDefaults image) {
        ContainerConfig.Builder out = config.toBuilder();
        if (config.getCommandCount() == 0) {
            out.addAllCommand(image.getEntrypointList());
            if (config.getArgsCount() == 0) {
                out.addAllArgs(image.getCmdList());
            }
        }
        if (out.getCommandCount() == 0 && out.getArgsCount() == 0) {
            throw VesselException.invalid("command", "must not be empty: the image gives no Entrypoint or Cmd");
        }
        Map<String, String> env = new LinkedHashMap<>();
        image.getEnvList().forEach(e -> env.put(e.getName(), e.getValue()));
        config.getEnvList().forEach(e -> env.put(e.getName(), e.getValue()));
        out.clearEnv();
        env.forEach((name, value) -> out.addEnv(EnvVar.newBuilder().setName(name).setValue(value)));
        if (config.getWorkingDir().isEmpty()) {
            out.setWorkingDir(image.getWorkingDir());
        }
        if (config.getUser().isEmpty()) {
            out.setUser(image.getUser());
        }
        if (config.getStopSignal().isEmpty()) {
            out.setStopSignal(image.getStopSignal());
        }
        if (!config.hasHealthCheck() && image.hasHealthCheck()) {
            out.setHealthCheck(image.getHealthCheck()); // ["NONE"] in the config turns it off
        }
        return out.build();
    }
}
