package dev.vessel.guest;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.sysctl.Sysctls;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * A VM task's kernel parameters in its guest. The task shares the guest's network namespace (the VM is its
 * boundary), so its network parameters are the guest's own: the agent writes them before the task starts,
 * and the in-guest container keeps only those of its own IPC namespace, which its launch helper sets.
 */
final class GuestSysctls {
    private static final Path PROC_SYS = Path.of("/proc/sys");

    private GuestSysctls() {
    }

    /** Writes the config's network parameters into the guest's namespace, in key order. */
    static void applyNetwork(ContainerConfig config) {
        for (Map.Entry<String, String> e : new TreeMap<>(config.getSysctlsMap()).entrySet()) {
            String key = e.getKey();
            if (Sysctls.scopeOf(key).orElse(null) != Sysctls.Scope.NETWORK) {
                continue;
            }
            if (!Sysctls.wellFormed(key)) { // the host validated it; a dotted name is what keeps it in /proc/sys
                throw VesselException.invalid("sysctls", "'" + key + "' is not a kernel parameter's dotted name");
            }
            try (OutputStream out = Files.newOutputStream(PROC_SYS.resolve(key.replace('.', '/')),
                    StandardOpenOption.WRITE)) {
                out.write(e.getValue().getBytes(StandardCharsets.UTF_8));
            } catch (IOException ex) {
                throw VesselException.invalid("sysctls[" + key + "]", "the guest's kernel refused it: " + ex);
            }
        }
    }

    /** The config the guest's container runs: its network parameters set already. */
    static ContainerConfig.Builder withoutNetwork(ContainerConfig.Builder config) {
        new TreeMap<>(config.getSysctlsMap()).keySet().stream()
                .filter(key -> Sysctls.scopeOf(key).orElse(null) == Sysctls.Scope.NETWORK)
                .forEach(config::removeSysctls);
        return config;
    }
}
