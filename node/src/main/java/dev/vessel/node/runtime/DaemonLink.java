package dev.vessel.node.runtime;

import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import dev.vessel.node.cli.CliFailure;
import dev.vessel.node.cli.VesselClient;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The vesseld that serves one {@code --root}: its state in {@code <root>/state}, its run dir and socket in
 * {@code <root>/run}, its containers under a cgroup parent named after the root, so that each engine's
 * containers (and {@code vessel}'s own) are apart. It is started on demand, detached, by the first call that
 * needs it; a lock makes concurrent first calls start one.
 */
final class DaemonLink {
    private static final long START_TIMEOUT_MS = 60_000;
    private static final String DAEMON_MAIN = "dev.vessel.node.daemon.Vesseld";
    /** The daemon's class path when the runtime's own is shorter (bin/vessel-runtime's). */
    private static final String DAEMON_CLASSPATH = "vessel.daemon.classpath";

    private final Path root;
    private final RuntimeLog log;

    DaemonLink(Path root, RuntimeLog log) {
        this.root = root;
        this.log = log;
    }

    Path socket() {
        return root.resolve("run").resolve("vessel.sock");
    }

    /** Whether a daemon ever served this root: if not, there are no containers to ask it about. */
    boolean everStarted() {
        return Files.isDirectory(root.resolve("state"));
    }

    /** {@code vessel-<12 hex digits of the root's hash>}, the cgroup parent of this root's containers. */
    static String cgroupParent(Path root) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(root.toString().getBytes(StandardCharsets.UTF_8));
            return "vessel-oci-" + HexFormat.of().formatHex(hash, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A whole answer's body; a 4xx/5xx answer is a {@link RuntimeFailure} in runc's words where engines read them. */
    String call(String method, String path, String body) {
        try (VesselClient.Response response = client().send(method, path, body)) {
            String text = response.text();
            if (response.status >= 400) {
                throw failure(text);
            }
            return text;
        } catch (IOException e) {
            throw new RuntimeFailure("reading vesseld's answer: " + e.getMessage());
        } catch (CliFailure e) {
            throw new RuntimeFailure(e.getMessage());
        }
    }

    /** runc's messages for what engines test: a missing container, one not running. */
    private static RuntimeFailure failure(String body) {
        String code = JsonFields.string(body, "code");
        String message = JsonFields.string(body, "message");
        return new RuntimeFailure(switch (code) {
            case "NOT_FOUND" -> "container does not exist";
            default -> {
                String field = JsonFields.string(body, "field");
                yield field.isEmpty() || message.contains(field) ? message : field + ": " + message;
            }
        });
    }

    private VesselClient client() {
        return VesselClient.connect("unix://" + socket(), null);
    }

    /** Starts the daemon unless it answers; under the root's lock, so that one start serves concurrent calls. */
    void ensureRunning() {
        if (answers()) {
            return;
        }
        try {
            Files.createDirectories(root);
            try (FileChannel lockFile = FileChannel.open(root.resolve("daemon.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
                if (!answers()) {
                    start();
                }
            }
        } catch (IOException e) {
            throw new RuntimeFailure("starting vesseld for " + root + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeFailure("interrupted while starting vesseld");
        }
    }

    boolean answers() {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket()));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * In a session of its own (setsid), with umask 0022 (the umask its tasks start with), its output in
     * {@code <root>/vesseld.log}. A {@code <root>/vesseld.json} is its configuration file.
     */
    private void start() throws IOException, InterruptedException {
        Path output = root.resolve("vesseld.log");
        List<String> command = new ArrayList<>(List.of("/bin/sh", "-c", "umask 022 && exec setsid \"$@\"", "vesseld",
                ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty(DAEMON_CLASSPATH, System.getProperty("java.class.path")), DAEMON_MAIN, "--state-dir", root.resolve("state").toString(),
                "--run-dir", root.resolve("run").toString(), "--socket", socket().toString(), "--cgroup-parent",
                cgroupParent(root)));
        if (Files.exists(root.resolve("vesseld.json"))) {
            command.addAll(List.of("--config", root.resolve("vesseld.json").toString()));
        }
        log.debug("starting vesseld: " + String.join(" ", command));
        Process daemon = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null")
                .toFile())).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()))
                .start();
        leaveCallersCgroups(daemon.pid());
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        while (!answers()) {
            if (!daemon.isAlive() || System.currentTimeMillis() > deadline) {
                throw new RuntimeFailure("vesseld did not start for " + root + " (see " + output + "): "
                        + lastLines(output));
            }
            Thread.sleep(20);
        }
    }

    /**
     * The first call's cgroups are its engine's (a podman pod's conmon, a containerd shim's), which the engine kills
     * with that pod or shim, while the daemon outlives them all: it moves to each hierarchy's root, where a daemon
     * started at boot runs. A hierarchy that refuses (a delegated subtree's) keeps it where it is.
     */
    private void leaveCallersCgroups(long pid) {
        for (CgroupHierarchy hierarchy : CgroupHierarchies.detect().all()) {
            try {
                Files.writeString(hierarchy.mountPoint().resolve("cgroup.procs"), Long.toString(pid));
            } catch (IOException e) {
                log.debug("vesseld stays in its cgroup of " + hierarchy.mountPoint() + ": " + e.getMessage());
            }
        }
    }

    private static String lastLines(Path file) {
        try {
            List<String> lines = Files.readAllLines(file);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
        } catch (IOException e) {
            return "";
        }
    }
}
