package dev.vessel.node.runtime;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code vessel-runtime}: the OCI runtime command line (runc's), for podman and containerd, as a thin client
 * of the vesseld that serves its {@code --root}. Every engine call is a new process, so this loads as little
 * as it can: no picocli, no JSON library; vesseld reads the bundle and renders the OCI state.
 */
public final class VesselRuntime {
    /** runc's default is /run/runc; each root has a vesseld of its own. */
    static final Path DEFAULT_ROOT = Path.of("/run/vessel-runtime");

    private VesselRuntime() {
    }

    public static void main(String[] argv) {
        System.exit(run(List.of(argv)));
    }

    static int run(List<String> argv) {
        RuntimeLog log = new RuntimeLog(null, "text", false);
        try {
            Args global = Args.parse(argv, Set.of("root", "log", "log-format", "rootless", "criu"),
                    Set.of("debug", "systemd-cgroup", "help", "version", "vm"), Map.of("h", "help", "v", "version"), true);
            log = new RuntimeLog(global.has("log") ? Path.of(global.value("log", "")) : null,
                    global.value("log-format", "text"), global.has("debug"));
            if (global.has("version")) {
                System.out.println("vessel-runtime version 0.1\nspec: " + RuntimeCommands.OCI_VERSION);
                return 0;
            }
            if (global.has("systemd-cgroup")) {
                throw new RuntimeFailure("--systemd-cgroup is not supported: Vessel manages its containers' cgroups"
                        + " itself (configure the engine's cgroup manager as cgroupfs)");
            }
            if (global.value("rootless", "false").equals("true")) {
                throw new RuntimeFailure("--rootless is not supported: vessel-runtime runs as root");
            }
            if (global.positional.isEmpty() || global.has("help")) {
                System.out.println(RuntimeCommands.USAGE);
                return global.has("help") ? 0 : 1;
            }
            Path root = Path.of(global.value("root", DEFAULT_ROOT.toString())).toAbsolutePath().normalize();
            log.debug("vessel-runtime " + String.join(" ", argv));
            RuntimeCommands commands = new RuntimeCommands(new DaemonLink(root, log), log.flags(root),
                    global.has("vm"));
            return commands.run(global.positional.getFirst(), global.positional.subList(1, global.positional.size()));
        } catch (RuntimeFailure e) {
            log.error(e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            log.error("interrupted");
            return 1;
        } catch (Exception e) {
            log.error(e.toString());
            return 1;
        }
    }
}
