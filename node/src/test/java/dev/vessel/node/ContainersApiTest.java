package dev.vessel.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.launcher.process.BusyboxRootfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The containers API of a real daemon over its Unix socket, and its loopback TCP listener's token. */
class ContainersApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CGROUP_PARENT = "vessel-node-test-" + UUID.randomUUID().toString().substring(0, 8);
    static final String TOKEN = "test-token-" + UUID.randomUUID();

    @TempDir
    static Path tmp;
    static Path rootfs;
    static int tcpPort;
    static DaemonProcess daemon;
    static ApiClient api;

    @BeforeAll
    static void startDaemon() throws Exception {
        DaemonProcess.requireRoot();
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        Path tokenFile = Files.writeString(tmp.resolve("token"), TOKEN + "\n");
        try (var probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            tcpPort = probe.getLocalPort();
        }
        daemon = DaemonProcess.start(tmp.resolve("node"), CGROUP_PARENT, "--tcp-port", Integer.toString(tcpPort),
                "--token-file", tokenFile.toString(), "--max-body-bytes", "65536");
        api = ApiClient.unix(daemon.socket);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        try {
            if (daemon != null) {
                for (JsonNode c : JSON.readTree(api.get("/v1/containers").body()).get("containers")) {
                    api.delete("/v1/containers/" + c.get("id").asText() + "?force=1");
                }
                assertEquals(143, daemon.stop(), "a SIGTERM'd JVM exits 128+15 after its shutdown hooks");
                assertFalse(Files.exists(daemon.socket), "the clean stop removes the socket");
            }
        } finally {
            DaemonProcess.removeCgroupParent(CGROUP_PARENT);
        }
    }

    static String shell(String id, String script) {
        return JSON.createObjectNode().put("id", id).put("host_rootfs", rootfs.toString())
                .<com.fasterxml.jackson.databind.node.ObjectNode>set("command", JSON.createArrayNode().add("/bin/sh").add("-c").add(script))
                .toString();
    }

    static List<String> names(JsonNode array) {
        List<String> names = new ArrayList<>();
        array.forEach(name -> names.add(name.asText()));
        return names;
    }

    static JsonNode ok(ApiClient.Response r, int status) throws Exception {
        assertEquals(status, r.status(), r.body());
        return JSON.readTree(r.body());
    }

    static List<String> ids() throws Exception {
        List<String> ids = new ArrayList<>();
        ok(api.get("/v1/containers"), 200).get("containers").forEach(c -> ids.add(c.get("id").asText()));
        return ids;
    }

    @Test
    void createWithoutStartThenStart() throws Exception {
        JsonNode created = ok(api.post("/v1/containers?start=false", shell("two-step", "echo ran; exit 4")), 201);
        assertEquals("CREATED", created.get("state").asText());
        Thread.sleep(300);
        assertEquals("", api.get("/v1/containers/two-step/logs?stream=stdout").body(), "nothing ran before start");
        assertEquals("RUNNING", ok(api.post("/v1/containers/two-step/start", ""), 200).get("state").asText());
        assertEquals(4, ok(api.post("/v1/containers/two-step/wait", ""), 200).get("exit_code").asInt());
        assertEquals("ran\n", api.get("/v1/containers/two-step/logs?stream=stdout").body());
        // The same start on the ended container runs it again, as podman's start does.
        assertEquals("RUNNING", ok(api.post("/v1/containers/two-step/start", ""), 200).get("state").asText());
        assertEquals(4, ok(api.post("/v1/containers/two-step/wait", ""), 200).get("exit_code").asInt());
        assertEquals("ran\nran\n", api.get("/v1/containers/two-step/logs?stream=stdout").body());
        ok(api.delete("/v1/containers/two-step"), 200);
    }

    @Test
    void runListLogsKillWaitDelete() throws Exception {
        JsonNode created = ok(api.post("/v1/containers", shell("round-trip", "echo hello; echo oops >&2; exec sleep 300")), 201);
        assertEquals("RUNNING", created.get("state").asText());
        assertTrue(ids().contains("round-trip"));

        JsonNode inspected = ok(api.get("/v1/containers/round-trip"), 200);
        assertEquals("RUNNING", inspected.at("/status/state").asText());
        assertTrue(inspected.has("usage"), inspected::toString);

        String stdout = "";
        for (int i = 0; i < 100 && !stdout.contains("hello"); i++) {
            Thread.sleep(50);
            stdout = api.get("/v1/containers/round-trip/logs?stream=stdout").body();
        }
        assertEquals("hello\n", stdout);
        assertEquals("oops\n", api.get("/v1/containers/round-trip/logs?stream=stderr").body());

        JsonNode refused = ok(api.delete("/v1/containers/round-trip"), 409);
        assertEquals("FAILED_PRECONDITION", refused.get("code").asText());

        JsonNode badSignal = ok(api.post("/v1/containers/round-trip/kill?signal=TERM", ""), 400);
        assertEquals("signal", badSignal.get("field").asText());
        ok(api.post("/v1/containers/round-trip/kill?signal=9", ""), 200);
        JsonNode termination = ok(api.post("/v1/containers/round-trip/wait", ""), 200);
        assertEquals("KILLED", termination.get("reason").asText());
        assertEquals(9, termination.get("signal").asInt());

        JsonNode deleted = ok(api.delete("/v1/containers/round-trip"), 200);
        assertEquals(9, deleted.at("/termination/signal").asInt());
        assertFalse(ids().contains("round-trip"));
        assertFalse(Files.exists(daemon.runDir.resolve("containers/round-trip")));
        assertEquals(404, api.get("/v1/containers/round-trip").status());
    }

    @Test
    void followedLogsEndWithTheTaskAndWaitGivesTheExitCode() throws Exception {
        ok(api.post("/v1/containers", shell("follow", "echo one; sleep 1; echo two; exit 3")), 201);
        assertEquals("one\ntwo\n", api.get("/v1/containers/follow/logs?follow=1").body());
        JsonNode termination = ok(api.post("/v1/containers/follow/wait", ""), 200);
        assertEquals("EXITED", termination.get("reason").asText());
        assertEquals(3, termination.get("exit_code").asInt());
        ok(api.delete("/v1/containers/follow"), 200);
    }

    @Test
    void badRequestsNameTheFieldAndCreateNothing() throws Exception {
        List<String> before = ids();
        record Bad(String body, int status, String field) {
        }
        String host = ",\"host_rootfs\":\"" + rootfs + "\",\"command\":[\"/bin/true\"]";
        List<Bad> bads = List.of(
                new Bad("{\"id\":\"bad-json\"" + host + ",", 400, "body"),
                new Bad("[1,2]", 400, "body"),
                new Bad("{\"id\":\"bad-unknown\",\"comand\":[\"/bin/true\"],\"host_rootfs\":\"" + rootfs + "\"}", 400, "comand"),
                new Bad("{\"id\":\"bad-type\"" + host + ",\"resources\":{\"memory_bytes\":\"lots\"}}", 400, "resources.memory_bytes"),
                new Bad("{\"id\":\"bad-type2\",\"host_rootfs\":\"" + rootfs + "\",\"command\":\"/bin/true\"}", 400, "command"),
                new Bad("{\"id\":\"bad-enum\"" + host + ",\"isolation\":\"JAIL\"}", 400, "isolation"),
                new Bad("{\"id\":\"bad-memory\"" + host + ",\"resources\":{\"memory_bytes\":-5}}", 400, "resources.memory_bytes"),
                new Bad("{\"id\":\"bad-root\",\"command\":[\"/bin/true\"]}", 400, "image"),
                new Bad("{\"id\":\"bad-image\",\"image\":\"127.0.0.1:1/nothing:here\"}", 404, "image"),
                new Bad("{\"id\":\"bad-ref\",\"image\":\"UPPER CASE\"}", 400, "image"),
                new Bad("{\"id\":\"bad/id\"" + host + "}", 400, "id"),
                new Bad("{\"id\":\"bad-big\"" + host + ",\"hostname\":\"" + "x".repeat(70_000) + "\"}", 413, "body"));
        for (Bad bad : bads) {
            ApiClient.Response r = api.post("/v1/containers", bad.body());
            assertEquals(bad.status(), r.status(), bad.body().substring(0, Math.min(200, bad.body().length())) + " -> " + r.body());
            JsonNode error = JSON.readTree(r.body());
            assertEquals(bad.field(), error.get("field").asText(), r.body());
            assertFalse(error.get("message").asText().isBlank());
            assertFalse(r.body().contains("\tat "), "a stack trace leaked: " + r.body());
        }
        assertEquals(before, ids());
        try (var dirs = Files.list(daemon.runDir.resolve("containers"))) {
            assertTrue(dirs.noneMatch(d -> d.getFileName().toString().startsWith("bad")));
        }
        ok(api.post("/v1/containers/nope/kill?signal=15", ""), 404);
        ok(api.post("/v1/containers/nope/kill?signal=TERM", ""), 404); // the container is looked up first
        assertEquals(404, api.get("/v1/nothing").status());
        assertEquals(405, api.send("PUT", "/v1/containers", "{}").status());
    }

    @Test
    void tcpListenerNeedsTheToken() throws Exception {
        assertEquals(401, ApiClient.tcp(tcpPort, null).get("/v1/health").status());
        ApiClient.Response wrong = ApiClient.tcp(tcpPort, "Bearer not-the-token").get("/v1/containers");
        assertEquals(401, wrong.status());
        assertEquals("UNAUTHENTICATED", JSON.readTree(wrong.body()).get("code").asText());
        ok(ApiClient.tcp(tcpPort, "Bearer " + TOKEN).get("/v1/health"), 200);
    }

    @Test
    void systemEndpoints() throws Exception {
        JsonNode info = ok(api.get("/v1/info"), 200);
        assertTrue(List.of("v1", "v2", "hybrid").contains(info.get("cgroup_mode").asText()), info::toString);
        assertTrue(List.of("kvm", "tcg").contains(info.get("accelerator").asText()), info::toString);
        // every host isolator by default: each isolation class's chain, and the guest's
        JsonNode isolators = info.get("isolators");
        assertTrue(names(isolators.get("process")).containsAll(List.of("namespaces", "filesystem/linux", "disk/du")),
                info::toString);
        assertEquals(List.of("filesystem/linux", "volume/docker", "network/cni", "vm/resources", "vm/rootfs",
                "vm/network", "vm/gpu"), names(isolators.get("vm")), info::toString);
        assertEquals(List.of("cgroups", "cgroups/memory", "cgroups/cpu", "cgroups/pids", "namespaces",
                "filesystem/linux", "linux/capabilities", "linux/seccomp", "posix/rlimits"), names(isolators.get("vm_guest")),
                info::toString);
        ok(api.get("/v1/health"), 200);
        ApiClient.Response metrics = api.get("/metrics");
        assertEquals(200, metrics.status());
        assertTrue(metrics.body().contains("vessel_containers{state=\"running\"}"), metrics.body());
        assertTrue(metrics.body().contains("vessel_container_launches_total"), metrics.body());
        ok(api.get("/v1/images"), 200);
    }
}
