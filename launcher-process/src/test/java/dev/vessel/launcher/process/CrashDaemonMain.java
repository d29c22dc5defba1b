package dev.vessel.launcher.process;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.paths.RuntimePaths;
import java.nio.file.Path;

/**
 * Plays the daemon the crash test kills: recovers, launches a long-running container and one that
 * exits (code 7) after a second, prints "ready", then waits for its SIGKILL.
 * Arguments: state dir, run dir, rootfs.
 */
public final class CrashDaemonMain {
    private CrashDaemonMain() {
    }

    public static void main(String[] args) throws Exception {
        RuntimePaths paths = new RuntimePaths(Path.of(args[0]), Path.of(args[1]));
        Path rootfs = Path.of(args[2]);
        UnifiedContainerizer containerizer = Fixtures.containerizer(paths, ProcessLauncher.withBundledHelper(paths));
        containerizer.launch(Fixtures.config(rootfs, "long", "/bin/sh", "-c", "while true; do sleep 1; done").build());
        containerizer.launch(Fixtures.config(rootfs, "short", "/bin/sh", "-c", "sleep 1; exit 7").build());
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
