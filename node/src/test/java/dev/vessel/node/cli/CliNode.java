package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.node.DaemonProcess;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A real daemon for the CLI tests: a busybox rootfs, a daemon under a cgroup parent of its own, and the CLI run
 * in-process against it. {@link #close()} removes every container, stops the daemon (if alive) and removes the
 * cgroup parent.
 */
final class CliNode implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What one CLI run gave. */
    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout:\n" + out + "--- stderr:\n" + err;
        }
    }

    private final Path nodeDir;
    private final String cgroupParent;
    private final Path netns;
    private final Map<String, String> daemonEnv;
    private final String[] daemonFlags;
    private final Path rootfs;
    private DaemonProcess daemon;

    private CliNode(Path dir, String name, Path netns, Map<String, String> daemonEnv, String[] daemonFlags)
            throws Exception {
        this.nodeDir = dir.resolve("node");
        this.cgroupParent = "vessel-" + name + "-test-" + UUID.randomUUID().toString().substring(0, 8);
        this.netns = netns;
        this.daemonEnv = daemonEnv;
        this.daemonFlags = daemonFlags;
        this.rootfs = BusyboxRootfs.create(dir.resolve("rootfs"));
    }

    /** Creates {@code dir/rootfs} and starts a daemon in {@code dir/node} under {@code vessel-<name>-test-XXXXXXXX}. */
    static CliNode start(Path dir, String name, String... daemonFlags) throws Exception {
        return start(dir, name, null, Map.of(), daemonFlags);
    }

    /** As {@link #start(Path, String, String...)}; the daemon runs in {@code netns} (when not null) or with {@code daemonEnv}. */
    static CliNode start(Path dir, String name, Path netns, Map<String, String> daemonEnv, String... daemonFlags)
            throws Exception {
        DaemonProcess.requireRoot();
        if (netns != null && !daemonEnv.isEmpty()) {
            throw new IllegalArgumentException("a daemon in a netns takes no environment of its own");
        }
        CliNode node = new CliNode(dir, name, netns, daemonEnv, daemonFlags);
        try {
            node.startDaemon();
        } catch (Exception | Error e) {
            DaemonProcess.removeCgroupParent(node.cgroupParent);
            throw e;
        }
        return node;
    }

    private void startDaemon() throws Exception {
        daemon = netns != null
                ? DaemonProcess.startIn(netns, nodeDir, cgroupParent, daemonFlags)
                : DaemonProcess.start(nodeDir, cgroupParent, daemonEnv, daemonFlags);
    }

    /** SIGKILLs the daemon and starts its successor on the same state, socket and flags: a crash and a restart. */
    void kill9AndRestart() throws Exception {
        daemon.kill9();
        startDaemon();
    }

    String host() {
        return "unix://" + daemon.socket;
    }

    Path rootfs() {
        return rootfs;
    }

    DaemonProcess daemon() {
        return daemon;
    }

    String cgroupParent() {
        return cgroupParent;
    }

    Result vessel(String... args) {
        return vesselWith(Map.of(), "", args);
    }

    /** Runs {@code vessel --host <this daemon> args} in-process with the given environment and stdin. */
    Result vesselWith(Map<String, String> env, String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> all = new ArrayList<>(List.of("--host", host()));
        all.addAll(List.of(args));
        int code = Vessel.execute(new Vessel(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), false, env), all.toArray(String[]::new));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Override
    public void close() throws Exception {
        try {
            if (daemon != null && daemon.alive()) { // a test may have left it dead: nothing to ask then
                for (JsonNode c : JSON.readTree(vessel("ps", "-a", "--json").out()).get("containers")) {
                    vessel("rm", "-f", c.path("name").asText(c.get("id").asText())); // a renamed one's id may not name it
                }
                daemon.stop();
            }
        } finally {
            DaemonProcess.removeCgroupParent(cgroupParent);
        }
    }
}
