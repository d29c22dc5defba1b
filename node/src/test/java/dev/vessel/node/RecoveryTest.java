package dev.vessel.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.node.cli.Vessel;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's recovery under real faults: it is SIGKILLed at named lifecycle steps (the
 * {@code VESSEL_FAULT_POINT} test hook parks it exactly there), a cleanup really fails during
 * recovery, and a launch hangs in a stalled download. After each restart nothing of the container
 * concerned may be left on the host, and a container that ended earlier still reports its exit.
 */
class RecoveryTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TAG = UUID.randomUUID().toString().substring(0, 6);
    /** A bridge network through the real CNI plugins. */
    static final String BRIDGE = "vft" + TAG;
    /**
     * The same, through a wrapper plugin whose DEL fails while {@link #failDel} exists, at once,
     * without reading its config (the daemon must still report the plugin's own error).
     */
    static final String FLAKY_BRIDGE = "vfl" + TAG;

    @TempDir
    static Path tmp;
    static Path rootfs;
    static Path cniConfig;
    static Path cniPlugins;
    static Path ipam;
    static Path failDel;
    static String image;

    final String cgroupParent = "vessel-node-test-" + UUID.randomUUID().toString().substring(0, 8);
    final List<DaemonProcess> daemons = new ArrayList<>();

    @BeforeAll
    static void fixtures() throws Exception {
        DaemonProcess.requireRoot();
        if (!Files.isExecutable(Path.of("/usr/lib/cni/bridge"))) {
            throw new IllegalStateException("/usr/lib/cni/bridge is missing: apt-get install containernetworking-plugins");
        }
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        Path layout = tmp.resolve("layout");
        umoci("init", "--layout", layout.toString());
        umoci("new", "--image", layout + ":bb");
        umoci("insert", "--image", layout + ":bb", rootfs.toString(), "/");
        image = "oci:" + layout + ":bb";

        int subnet = 1 + (int) (Long.parseLong(TAG, 16) % 250);
        cniConfig = Files.createDirectories(tmp.resolve("cni-config"));
        cniPlugins = Files.createDirectories(tmp.resolve("cni-plugins"));
        ipam = tmp.resolve("ipam");
        failDel = tmp.resolve("fail-del");
        Files.writeString(cniConfig.resolve("10-faultnet.conflist"), """
                {"cniVersion": "1.0.0", "name": "faultnet", "plugins": [
                  {"type": "bridge", "bridge": "%s", "isGateway": true, "ipMasq": false,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.77.%d.0/25"}]], "dataDir": "%s"}}]}
                """.formatted(BRIDGE, subnet, ipam));
        Files.writeString(cniConfig.resolve("20-flaky.conflist"), """
                {"cniVersion": "1.0.0", "name": "flaky", "plugins": [
                  {"type": "flakybridge", "bridge": "%s", "isGateway": true, "ipMasq": false,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.77.%d.128/25"}]], "dataDir": "%s"}}]}
                """.formatted(FLAKY_BRIDGE, subnet, ipam));
        Path flaky = cniPlugins.resolve("flakybridge");
        Files.writeString(flaky, """
                #!/bin/sh
                if [ "$CNI_COMMAND" = DEL ] && [ -e '%s' ]; then
                  echo '{"cniVersion": "1.0.0", "code": 11, "msg": "DEL refused by the test while fail-del exists"}'
                  exit 1
                fi
                exec /usr/lib/cni/bridge "$@"
                """.formatted(failDel));
        Files.setPosixFilePermissions(flaky, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterAll
    static void removeBridges() throws Exception {
        Leftovers.deleteBridge(BRIDGE);
        Leftovers.deleteBridge(FLAKY_BRIDGE);
    }

    @AfterEach
    void stopDaemons() throws Exception {
        try {
            for (DaemonProcess d : daemons) {
                if (d.alive()) {
                    ApiClient api = ApiClient.unix(d.socket);
                    Files.deleteIfExists(failDel);
                    for (JsonNode c : JSON.readTree(api.get("/v1/containers").body()).get("containers")) {
                        api.delete("/v1/containers/" + c.get("id").asText() + "?force=1");
                    }
                    d.stop();
                }
            }
        } finally {
            DaemonProcess.removeCgroupParent(cgroupParent);
        }
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * Kills the daemon at each lifecycle step of a process container, three rounds: while its image
     * is provisioned, after the CNI ADD of its network, in the middle of its destroy. Each daemon is
     * started armed for the next container's step, after recovering the previous one.
     */
    @Test
    void aSigkillAtEachLifecycleStepLeavesNothingAndKeepsExitStatuses() throws Exception {
        Path node = tmp.resolve("fault-node");
        Path marker = tmp.resolve("fault-marker");
        DaemonProcess daemon = start(node, Map.of());
        ApiClient api = ApiClient.unix(daemon.socket);
        ApiClient.Response pulled = api.post("/v1/images/pull", JSON.createObjectNode().put("image", image).toString());
        assertEquals(200, pulled.status(), pulled.body());
        create(api, shell("exits-7", "exit 7"));
        assertEquals(7, JSON.readTree(api.post("/v1/containers/exits-7/wait", "").body()).get("exit_code").asInt());
        create(api, withImageAndNetwork("keeps-running", "faultnet", "exec sleep 600"));
        long runningPid = JSON.readTree(api.get("/v1/containers/keeps-running").body()).at("/status/pid").asLong();

        String previous = null;
        for (int round = 1; round <= 3; round++) {
            for (String point : List.of("after-provision", "after-cni-add", "mid-destroy")) {
                String id = point + "-" + round;
                daemon.stop();
                daemon = start(node, Map.of("VESSEL_FAULT_POINT", point + ":" + id, "VESSEL_FAULT_MARKER", marker.toString()));
                api = ApiClient.unix(daemon.socket);
                if (previous != null) {
                    assertRecovered(daemon, api, previous, runningPid);
                }

                ObjectNode config = withImageAndNetwork(id, "faultnet", "exec sleep 300");
                CompletableFuture<ApiClient.Response> request;
                if (point.equals("mid-destroy")) {
                    create(api, config);
                    request = async(api, "DELETE", "/v1/containers/" + id + "?force=1", null);
                } else {
                    request = async(api, "POST", "/v1/containers", config.toString());
                }
                awaitFaultPoint(daemon, marker, id, request);
                daemon.kill9();
                Files.delete(marker);
                previous = id;
            }
        }
        daemon = start(node, Map.of());
        api = ApiClient.unix(daemon.socket);
        assertRecovered(daemon, api, previous, runningPid);
        ApiClient.Response removed = api.delete("/v1/containers/keeps-running?force=1");
        assertEquals(200, removed.status(), removed.body());
        assertEquals(List.of(), Leftovers.of("keeps-running", daemon, cgroupParent, ipam));
        assertEquals(List.of(), Leftovers.bridgePorts(BRIDGE), "no container holds a veth any more");
    }

    /**
     * After the restart: the container of the interrupted step is gone, or terminated with its status
     * and then removed; nothing of it is left; the container that exited before the kills still says 7
     * and the one running through them all still runs, the same task with its address.
     */
    private void assertRecovered(DaemonProcess daemon, ApiClient api, String id, long runningPid) throws Exception {
        if (id.startsWith("mid-destroy")) {
            // the next daemon finishes the destroy the kill interrupted (on the task's exit, just after start-up)
            JsonNode status = awaitState(api, id, "TERMINATED");
            assertEquals(9, status.at("/termination/signal").asInt(), status::toString);
            ApiClient.Response removed = api.delete("/v1/containers/" + id);
            assertEquals(200, removed.status(), removed.body());
        } else {
            ApiClient.Response r = api.get("/v1/containers/" + id);
            assertEquals(404, r.status(), "a launch the kill interrupted is undone: " + r.body());
        }
        assertEquals(List.of(), Leftovers.of(id, daemon, cgroupParent, ipam), "left of container " + id);
        JsonNode survivor = JSON.readTree(api.get("/v1/containers/exits-7").body()).get("status");
        assertEquals("TERMINATED", survivor.get("state").asText(), survivor::toString);
        assertEquals(7, survivor.at("/termination/exit_code").asInt(), survivor::toString);
        JsonNode running = JSON.readTree(api.get("/v1/containers/keeps-running").body()).get("status");
        assertEquals("RUNNING", running.get("state").asText(), running::toString);
        assertEquals(runningPid, running.get("pid").asLong(), "the same task, found again");
        assertEquals(1, running.get("ip_addresses").size(), running::toString);
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * A launch is interrupted after its CNI ADD, and the network's DEL then fails: the next daemon
     * starts anyway and serves, keeps the container DESTROYING with the error (ps and inspect show
     * it), rm -f retries at once, and once the DEL works again the background retry cleans it up.
     */
    @Test
    void aCleanupThatFailsDuringRecoveryIsKeptMarkedAndRetriedWhileTheNodeServes() throws Exception {
        Path node = tmp.resolve("flaky-node");
        Path marker = tmp.resolve("flaky-marker");
        DaemonProcess daemon = start(node, Map.of("VESSEL_FAULT_POINT", "after-cni-add:stuck-net",
                "VESSEL_FAULT_MARKER", marker.toString()));
        ApiClient api = ApiClient.unix(daemon.socket);
        create(api, shell("exits-7", "exit 7"));
        assertEquals(7, JSON.readTree(api.post("/v1/containers/exits-7/wait", "").body()).get("exit_code").asInt());
        ObjectNode config = shell("stuck-net", "exec sleep 300");
        config.putArray("networks").addObject().put("network", "flaky");
        CompletableFuture<ApiClient.Response> launch = async(api, "POST", "/v1/containers", config.toString());
        awaitFaultPoint(daemon, marker, "stuck-net", launch);
        Files.createFile(failDel);
        daemon.kill9();

        daemon = start(node, Map.of()); // recovery's failed DEL no longer stops the daemon
        api = ApiClient.unix(daemon.socket);
        JsonNode kept = JSON.readTree(api.get("/v1/containers/stuck-net").body()).get("status");
        assertEquals("DESTROYING", kept.get("state").asText(), kept::toString);
        assertEquals("LAUNCH_FAILED", kept.at("/termination/reason").asText(), kept::toString);
        assertTrue(kept.get("cleanup_error").asText().contains("DEL refused by the test"), kept::toString);
        assertTrue(kept.get("cleanup_attempts").asInt() >= 1, kept::toString);
        assertTrue(kept.has("next_cleanup_at"), kept::toString);
        assertTrue(Files.exists(daemon.runDir().resolve("cni/stuck-net/netns")), "kept until its DEL succeeds");

        String ps = cli(daemon, "ps", "-a");
        String row = ps.lines().filter(l -> l.startsWith("stuck-net ")).findFirst().orElseThrow(() -> new AssertionError(ps));
        assertTrue(row.contains("DESTROYING (CLEANUP FAILED)"), ps);
        assertTrue(ps.contains("cleanup of stuck-net failed") && ps.contains("DEL refused by the test"), ps);
        String inspected = cli(daemon, "inspect", "stuck-net");
        assertTrue(inspected.contains("DEL refused by the test"), inspected);
        assertTrue(api.get("/metrics").body().contains("vessel_containers_cleanup_failed 1"));

        // the node serves the rest meanwhile
        JsonNode survivor = JSON.readTree(api.get("/v1/containers/exits-7").body()).get("status");
        assertEquals(7, survivor.at("/termination/exit_code").asInt(), survivor::toString);
        create(api, shell("after-restart", "exit 0"));
        assertEquals(0, JSON.readTree(api.post("/v1/containers/after-restart/wait", "").body()).get("exit_code").asInt());

        // rm -f retries now, and says why it cannot remove it yet
        int attempts = JSON.readTree(api.get("/v1/containers/stuck-net").body()).at("/status/cleanup_attempts").asInt();
        ApiClient.Response refused = api.delete("/v1/containers/stuck-net?force=1");
        assertEquals(409, refused.status(), refused.body());
        assertTrue(refused.body().contains("its cleanup failed") && refused.body().contains("DEL refused by the test"),
                refused.body());
        int after = JSON.readTree(api.get("/v1/containers/stuck-net").body()).at("/status/cleanup_attempts").asInt();
        assertTrue(after > attempts, "rm -f tried again: " + attempts + " then " + after);

        // the cause is fixed: the background retry succeeds without anyone asking
        Files.delete(failDel);
        JsonNode cleaned = awaitState(api, "stuck-net", "TERMINATED");
        assertFalse(cleaned.has("cleanup_error"), cleaned::toString);
        assertEquals(200, api.delete("/v1/containers/stuck-net").status());
        assertEquals(List.of(), Leftovers.of("stuck-net", daemon, cgroupParent, ipam), "left of stuck-net");
        assertEquals(List.of(), Leftovers.bridgePorts(FLAKY_BRIDGE));
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * A launch stalls in the middle of the download of its URI: listing, inspecting and the metrics answer while
     * the server still stalls, and a forced removal ends the launch without waiting for the server.
     */
    @Test
    void readsDoNotWaitBehindAStalledLaunchWhichRmForceEnds() throws Exception {
        DaemonProcess daemon = start(tmp.resolve("stall-node"), Map.of());
        ApiClient api = ApiClient.unix(daemon.socket);
        try (StallingServer server = new StallingServer()) {
            ObjectNode config = shell("stalled", "exec sleep 300");
            config.putArray("uris").addObject().put("uri", "http://127.0.0.1:" + server.port() + "/artifact");
            CompletableFuture<ApiClient.Response> launch = async(api, "POST", "/v1/containers", config.toString());
            assertTrue(server.requested.await(60, TimeUnit.SECONDS), "the fetch reached the server");

            JsonNode listed = JSON.readTree(api.get("/v1/containers").body()).get("containers");
            assertEquals("stalled", listed.get(0).get("id").asText(), listed::toString);
            assertEquals("PROVISIONING", listed.get(0).get("state").asText(), listed::toString);
            assertEquals("PROVISIONING", JSON.readTree(api.get("/v1/containers/stalled").body()).at("/status/state").asText());
            assertTrue(api.get("/metrics").body().contains("vessel_containers{state=\"provisioning\"} 1"));
            assertTrue(cli(daemon, "ps").contains("PROVISIONING"));
            assertFalse(launch.isDone(), "all of that while the launch still waits for the server");

            ApiClient.Response removed = api.delete("/v1/containers/stalled?force=1");
            assertEquals(200, removed.status(), removed.body());
            assertEquals("KILLED", JSON.readTree(removed.body()).at("/termination/reason").asText(), removed.body());
            assertFalse(server.released, "ended without the server's answer");
            ApiClient.Response failed = launch.get(60, TimeUnit.SECONDS);
            assertEquals(409, failed.status(), failed.body());
            assertTrue(failed.body().contains("container 'stalled' was destroyed during its launch"), failed.body());
            assertEquals(404, api.get("/v1/containers/stalled").status());
            assertEquals(List.of(), Leftovers.of("stalled", daemon, cgroupParent, null));
            Path downloads = daemon.stateDir().resolve("fetcher/downloads");
            if (Files.exists(downloads)) {
                try (var partial = Files.list(downloads)) {
                    assertEquals(List.of(), partial.toList(), "the partial download is removed");
                }
            }
        }
    }

    /** Accepts connections, reads the request, answers its start and then stalls until closed. */
    static final class StallingServer implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        final CountDownLatch requested = new CountDownLatch(1);
        final List<Socket> accepted = new ArrayList<>();
        volatile boolean released;

        StallingServer() throws IOException {
            Thread.ofVirtual().start(() -> {
                try {
                    while (true) {
                        Socket s = socket.accept();
                        synchronized (accepted) {
                            accepted.add(s);
                        }
                        InputStream in = s.getInputStream();
                        in.read(new byte[4096]);
                        // the headers and the start of a body, then nothing: the download is under way
                        s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n"
                                + "x".repeat(4096)).getBytes(StandardCharsets.US_ASCII));
                        s.getOutputStream().flush();
                        requested.countDown();
                    }
                } catch (IOException closed) {
                    // closed by the test
                }
            });
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            released = true;
            socket.close();
            synchronized (accepted) {
                for (Socket s : accepted) {
                    s.close();
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------

    private DaemonProcess start(Path node, Map<String, String> env) throws Exception {
        DaemonProcess d = DaemonProcess.start(node, cgroupParent, env, "--cni-config-dir", cniConfig.toString(),
                "--cni-plugin-dir", cniPlugins.toString(), "--cni-plugin-dir", "/usr/lib/cni");
        daemons.add(d);
        return d;
    }

    /** Waits until the daemon parked at its fault point for {@code id}; fails if the request ended first. */
    private static void awaitFaultPoint(DaemonProcess daemon, Path marker, String id,
            CompletableFuture<ApiClient.Response> request) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(marker)) {
            if (request.isDone() || !daemon.alive() || System.nanoTime() > deadline) {
                throw new AssertionError("the daemon never reached its fault point for " + id + "; request: "
                        + (request.isDone() ? request.join() : "pending") + "\n" + daemon.output());
            }
            Thread.sleep(20);
        }
        assertEquals(id, Files.readString(marker));
    }

    /** Polls until {@code id} is in {@code state} (a retry with backoff may take a few seconds); its status. */
    private static JsonNode awaitState(ApiClient api, String id, String state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            JsonNode status = JSON.readTree(api.get("/v1/containers/" + id).body()).get("status");
            if (status.get("state").asText().equals(state)) {
                return status;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " never became " + state + ": " + status);
            }
            Thread.sleep(100);
        }
    }

    private static CompletableFuture<ApiClient.Response> async(ApiClient api, String method, String path, String body) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return api.send(method, path, body);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, Executors.newVirtualThreadPerTaskExecutor());
    }

    private static void create(ApiClient api, ObjectNode config) throws IOException {
        ApiClient.Response r = api.post("/v1/containers", config.toString());
        assertEquals(201, r.status(), r.body());
    }

    private static ObjectNode shell(String id, String script) {
        ObjectNode config = JSON.createObjectNode().put("id", id).put("host_rootfs", rootfs.toString());
        config.putArray("command").add("/bin/sh").add("-c").add(script);
        return config;
    }

    private static ObjectNode withImageAndNetwork(String id, String network, String script) {
        ObjectNode config = JSON.createObjectNode().put("id", id).put("image", image);
        config.putArray("command").add("/bin/sh").add("-c").add(script);
        config.putArray("networks").addObject().put("network", network);
        return config;
    }

    /** The real CLI, in its own JVM, against the daemon's socket; its stdout. */
    private static String cli(DaemonProcess daemon, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Vessel.class.getName(), "--host", "unix://" + daemon.socket));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    private static void umoci(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("umoci"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("umoci " + String.join(" ", args) + " failed (apt-get install umoci):\n" + out);
        }
    }
}
