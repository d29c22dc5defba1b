package dev.vessel.launcher.process;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * A minimal root filesystem made from the host's static busybox: every applet, a world-writable
 * /tmp, and a non-root user {@code app} (uid/gid 1000, also in group {@code extra}, 2000). It needs no
 * registry, so tests, benchmarks and the demo can run containers on a machine with no network.
 */
public final class BusyboxRootfs {
    /** Debian's busybox-static puts a statically linked busybox here. */
    public static final Path HOST_BUSYBOX = Path.of("/bin/busybox");

    private BusyboxRootfs() {
    }

    /** Creates the rootfs at {@code root} (which must not exist yet) and returns it. */
    public static Path create(Path root) throws IOException {
        if (!Files.isExecutable(HOST_BUSYBOX)) {
            throw new VesselException(ErrorCode.UNAVAILABLE, HOST_BUSYBOX.toString(),
                    "a static busybox is needed for the busybox rootfs (apt-get install busybox-static)");
        }
        for (String d : List.of("bin", "etc", "proc", "sys", "dev", "mnt", "root", "home/app")) {
            Files.createDirectories(root.resolve(d));
        }
        Path tmp = Files.createDirectories(root.resolve("tmp"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.copy(HOST_BUSYBOX, root.resolve("bin/busybox"));
        for (String applet : applets()) {
            // relative, so the links still resolve after pivot_root
            Files.createSymbolicLink(root.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        Files.writeString(root.resolve("etc/passwd"), """
                root:x:0:0:root:/root:/bin/sh
                app:x:1000:1000:app:/home/app:/bin/sh
                """);
        Files.writeString(root.resolve("etc/group"), """
                root:x:0:
                app:x:1000:
                extra:x:2000:app
                """);
        return root;
    }

    private static List<String> applets() throws IOException {
        Process list = new ProcessBuilder(HOST_BUSYBOX.toString(), "--list").start();
        String applets = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (list.waitFor() != 0) {
                throw new IOException("busybox --list failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while listing busybox applets", e);
        }
        return applets.lines().filter(a -> !a.isBlank() && !a.equals("busybox")).toList();
    }
}
