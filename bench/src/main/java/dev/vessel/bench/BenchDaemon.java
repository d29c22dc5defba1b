package dev.vessel.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A vesseld from the built tree ({@code bin/vesseld}) with its state and run directories under a
 * benchmark's work directory and a cgroup parent of its own, as an operator starts it, and its API.
 */
final class BenchDaemon {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final Path log;
    final UnixHttp api;
    final Path socket;

    private BenchDaemon(Process process, Path log, Path socket) {
        this.process = process;
        this.log = log;
        this.socket = socket;
        this.api = new UnixHttp(socket);
    }

    /** Starts it and waits for "vesseld ready"; {@code flags} are added to the command line. */
    static BenchDaemon start(Path repository, Path work, String cgroupParent, String... flags) throws Exception {
        Path log = work.resolve("vesseld.log");
        Path socket = work.resolve("run/vessel.sock");
        List<String> command = new ArrayList<>(List.of(repository.resolve("bin/vesseld").toString(), "--state-dir",
                work.resolve("state").toString(), "--run-dir", work.resolve("run").toString(), "--cgroup-parent",
                cgroupParent));
        command.addAll(List.of(flags));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120); // the first start may compute the class path
        while (!(Files.exists(log) && Files.readString(log).contains("vesseld ready"))) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly().waitFor();
                throw new IllegalStateException("vesseld did not start:\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
        return new BenchDaemon(process, log, socket);
    }

    /** The end of the daemon's log, for a failure's message (the work directory goes with the bench). */
    String logTail() throws IOException {
        String text = Files.readString(log);
        return text.substring(Math.max(0, text.length() - 4000));
    }

    /** Removes what a failed round may have left, then SIGTERM: the daemon's clean stop. */
    void stop() throws Exception {
        try {
            if (process.isAlive()) {
                for (JsonNode c : JSON.readTree(api.call("GET", "/v1/containers", null)).path("containers")) {
                    api.call("DELETE", "/v1/containers/" + c.get("id").asText() + "?force=1", null);
                }
            }
        } finally {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    /** The checkout this bench was built in: bench/run runs it from bench/target/classes. */
    static Path repositoryRoot(String bench) throws Exception {
        Path classes = Path.of(BenchDaemon.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path root = classes.getParent().getParent().getParent();
        if (!Files.isDirectory(root.resolve("node/target/classes/dev/vessel/node"))) {
            throw new IllegalStateException(bench + " runs bin/vesseld from the built tree, but "
                    + root + "/node is not built: run mvn -o -pl node -am install -DskipTests");
        }
        return root;
    }

    /**
     * The cgroup and every cgroup under it, the deepest first, in every cgroup mount: podman also makes
     * them in the controller-less name=systemd hierarchy.
     */
    static void removeCgroup(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] halves = line.split(" - ", 2);
            if (halves.length < 2 || !halves[1].startsWith("cgroup")) {
                continue;
            }
            Path top = Path.of(halves[0].split(" ")[4]).resolve(name);
            if (!Files.isDirectory(top)) {
                continue;
            }
            try (Stream<Path> walk = Files.walk(top)) {
                for (Path dir : walk.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(dir);
                }
            }
        }
    }
}
