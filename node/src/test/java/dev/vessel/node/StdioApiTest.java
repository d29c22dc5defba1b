package dev.vessel.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.stdio.StdioFrame;
import dev.vessel.launcher.process.BusyboxRootfs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stdio API of a real daemon: attach, resize and exec over upgraded connections carrying stdio frames,
 * and every bad request refused naming the field, with nothing started or recorded for it.
 */
class StdioApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CGROUP_PARENT = "vessel-node-test-" + UUID.randomUUID().toString().substring(0, 8);

    @TempDir
    static Path tmp;
    static Path rootfs;
    static DaemonProcess daemon;
    static ApiClient api;

    @BeforeAll
    static void startDaemon() throws Exception {
        DaemonProcess.requireRoot();
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        daemon = DaemonProcess.start(tmp.resolve("node"), CGROUP_PARENT);
        api = ApiClient.unix(daemon.socket);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        try {
            if (daemon != null) {
                for (JsonNode c : JSON.readTree(api.get("/v1/containers").body()).get("containers")) {
                    api.delete("/v1/containers/" + c.get("id").asText() + "?force=1");
                }
                daemon.stop();
            }
        } finally {
            DaemonProcess.removeCgroupParent(CGROUP_PARENT);
        }
    }

    static ObjectNode shell(String id, String script) {
        ObjectNode config = JSON.createObjectNode().put("id", id).put("host_rootfs", rootfs.toString());
        config.putArray("command").add("/bin/sh").add("-c").add(script);
        return config;
    }

    static JsonNode ok(ApiClient.Response r, int status) throws Exception {
        assertEquals(status, r.status(), r.body());
        return JSON.readTree(r.body());
    }

    /** Refused with {@code status}, the error naming {@code field}. */
    static void refused(ApiClient.Response r, int status, String field) throws Exception {
        assertEquals(status, r.status(), r.body());
        assertEquals(field, JSON.readTree(r.body()).path("field").asText(), r.body());
    }

    static String exec(String container, String json) throws Exception {
        return ok(api.post("/v1/containers/" + container + "/exec", json), 201).get("id").asText();
    }

    static void awaitState(String path, String state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        JsonNode now = ok(api.get(path), 200);
        while (!now.path("state").asText().equals(state) && !now.at("/status/state").asText().equals(state)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(path + " never became " + state + ": " + now);
            }
            Thread.sleep(50);
            now = ok(api.get(path), 200);
        }
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void badRequestsAreRefusedNamingTheFieldAndStartNothing() throws Exception {
        ok(api.post("/v1/containers", shell("refusals", "exec sleep 1000").toString()), 201);
        String execs = "/v1/containers/refusals/exec";
        refused(api.post(execs, "{}"), 400, "command");
        refused(api.post(execs, "{\"command\":[\"\"]}"), 400, "command[0]");
        refused(api.post(execs, "{\"command\":[\"ls\"],\"working_dir\":\"tmp\"}"), 400, "working_dir");
        refused(api.post(execs, "{\"command\":[\"ls\"],\"user\":\"a:b:c\"}"), 400, "user");
        refused(api.post(execs, "{\"command\":[\"ls\"],\"env\":[{\"name\":\"A=B\",\"value\":\"x\"}]}"), 400, "env[0].name");
        refused(api.post(execs, "{\"command\":[\"ls\"],\"bogus\":1}"), 400, "bogus");
        refused(api.post(execs, "{\"command\":\"ls\"}"), 400, "command");
        assertEquals(404, api.post("/v1/containers/nosuch/exec", "{\"command\":[\"ls\"]}").status());
        assertEquals(404, api.get(execs + "/nosuch").status());
        assertEquals(404, api.post(execs + "/nosuch/start?detach=true", "").status());
        assertEquals(0, ok(api.get("/v1/containers/refusals"), 200).at("/status/execs").size(),
                "a refused exec was recorded");

        // an interactive start needs the upgrade: refused before the exec is started
        String created = exec("refusals", "{\"command\":[\"true\"]}");
        refused(api.post(execs + "/" + created + "/start", ""), 400, "Upgrade");
        assertEquals("EXEC_CREATED", ok(api.get(execs + "/" + created), 200).path("state").asText());
        refused(api.post("/v1/containers/refusals/attach", ""), 400, "Upgrade");

        String resize = "/v1/containers/refusals/resize";
        refused(api.post(resize, "{\"rows\":24,\"columns\":80}"), 409, "tty");
        ok(api.post("/v1/containers", shell("terminal", "exec sleep 1000").put("tty", true).toString()), 201);
        resize = "/v1/containers/terminal/resize";
        refused(api.post(resize, "{\"rows\":0,\"columns\":80}"), 400, "rows");
        refused(api.post(resize, "{\"rows\":24,\"columns\":70000}"), 400, "columns");
        refused(api.post(resize, "{\"rows\":\"24\",\"columns\":80}"), 400, "rows");
        refused(api.post(resize, "{\"columns\":80}"), 400, "rows");
        refused(api.post(resize, "{\"rows\":24,\"columns\":80,\"x\":1}"), 400, "x");
        refused(api.post(execs + "/" + created + "/resize", "{\"rows\":24,\"columns\":80}"), 409, "tty");

        // a container that has ended takes no exec
        ok(api.delete("/v1/containers/refusals?force=1"), 200);
        ok(api.post("/v1/containers", shell("ended", "exit 0").toString()), 201);
        ok(api.post("/v1/containers/ended/wait", ""), 200);
        assertEquals(409, api.post("/v1/containers/ended/exec", "{\"command\":[\"ls\"]}").status());
        ok(api.delete("/v1/containers/ended"), 200);
        ok(api.delete("/v1/containers/terminal?force=1"), 200);
    }

    /** An exec's stdin, stdout, stderr and status over one upgraded connection; its record in the container's status. */
    @Test
    void anAttachedExecTakesStdinAndReturnsItsOutputAndStatus() throws Exception {
        ok(api.post("/v1/containers", shell("host", "exec sleep 1000").toString()), 201);
        String id = exec("host", "{\"command\":[\"/bin/sh\",\"-c\",\"read x; echo got:$x; echo oops >&2; exit 5\"],"
                + "\"interactive\":true}");
        try (StdioClient session = StdioClient.open(daemon.socket, "/v1/containers/host/exec/" + id + "/start")) {
            session.send(StdioFrame.stdin("hello\n".getBytes(StandardCharsets.UTF_8)));
            StdioClient.Transcript t = session.readToExit();
            assertEquals("got:hello\n", t.stdout());
            assertEquals("oops\n", t.stderr());
            assertEquals(5, t.status());
        }
        awaitState("/v1/containers/host/exec/" + id, "EXEC_EXITED");
        JsonNode listed = ok(api.get("/v1/containers/host"), 200).at("/status/execs/0");
        assertEquals(id, listed.path("id").asText());
        assertEquals(5, listed.path("exit_code").asInt(), listed::toString);
        assertTrue(listed.path("pid").asLong() > 0, listed::toString);

        // detached: it runs on, and ends with its container (the kernel kills it with the container's namespaces)
        String sleeper = exec("host", "{\"command\":[\"sleep\",\"1000\"]}");
        JsonNode started = ok(api.post("/v1/containers/host/exec/" + sleeper + "/start?detach=true", ""), 200);
        assertEquals("EXEC_RUNNING", started.path("state").asText(), started::toString);
        assertTrue(Files.exists(Path.of("/proc/" + started.path("pid").asLong())), "the exec is not running");
        ok(api.post("/v1/containers/host/kill?signal=9", ""), 200);
        ok(api.post("/v1/containers/host/wait", ""), 200);
        JsonNode ended = ok(api.get("/v1/containers/host/exec/" + sleeper), 200);
        assertEquals("EXEC_EXITED", ended.path("state").asText(), ended::toString);
        assertEquals(137, ended.path("exit_code").asInt(), ended::toString);
        ok(api.delete("/v1/containers/host"), 200);
    }

    /**
     * A resize through the API reaches the task's terminal; a client that sends what only a process may send,
     * or a frame longer than the limit, is dropped while the task and the other clients go on.
     */
    @Test
    void resizeReachesTheTerminalAndHostileClientsAreDropped() throws Exception {
        ok(api.post("/v1/containers", shell("sized", "read x; stty size; read y; echo bye; exit 9").put("tty", true)
                .put("interactive", true).toString()), 201);
        try (StdioClient good = StdioClient.open(daemon.socket, "/v1/containers/sized/attach")) {
            try (StdioClient forger = StdioClient.open(daemon.socket, "/v1/containers/sized/attach")) {
                forger.send(StdioFrame.exit(0));
                assertEquals(null, forger.read(), "a client that sent EXIT was not dropped");
            }
            try (StdioClient flooder = StdioClient.open(daemon.socket, "/v1/containers/sized/attach")) {
                flooder.sendRaw(new byte[] {0x01, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff});
                assertEquals(null, flooder.read(), "a client that announced 2 GiB was not dropped");
            }
            ok(api.post("/v1/containers/sized/resize", "{\"rows\":40,\"columns\":120}"), 200);
            good.send(StdioFrame.stdin("\n".getBytes(StandardCharsets.UTF_8)));
            StringBuilder seen = new StringBuilder();
            while (!seen.toString().contains("40 120")) {
                StdioFrame f = good.read();
                assertTrue(f != null && f.type() == StdioFrame.Type.STDOUT, "the terminal's size never came: " + seen);
                seen.append(new String(f.payload(), StandardCharsets.UTF_8));
            }
            good.send(StdioFrame.stdin("\n".getBytes(StandardCharsets.UTF_8)));
            StdioClient.Transcript rest = good.readToExit();
            assertTrue(rest.stdout().contains("bye"), rest::toString);
            assertEquals(9, rest.status());
        }
        ok(api.post("/v1/containers/sized/wait", ""), 200);
        ok(api.delete("/v1/containers/sized"), 200);
    }

    /** Attached to an interactive task: its output, stdin to it, and STDIN_CLOSE ends a cat; two clients see it all. */
    @Test
    void attachedClientsShareTheTasksStdio() throws Exception {
        ok(api.post("/v1/containers?start=false", shell("cat", "cat; echo done; exit 4").put("interactive", true)
                .toString()), 201);
        try (StdioClient first = StdioClient.open(daemon.socket, "/v1/containers/cat/attach");
                StdioClient watcher = StdioClient.open(daemon.socket, "/v1/containers/cat/attach")) {
            ok(api.post("/v1/containers/cat/start", ""), 200);
            first.send(StdioFrame.stdin("one\n".getBytes(StandardCharsets.UTF_8)));
            first.send(StdioFrame.stdinClose());
            StdioClient.Transcript t = first.readToExit();
            assertEquals("one\ndone\n", t.stdout());
            assertEquals(4, t.status());
            assertEquals(t, watcher.readToExit());
        }
        ok(api.post("/v1/containers/cat/wait", ""), 200);
        ok(api.delete("/v1/containers/cat"), 200);
    }
}
