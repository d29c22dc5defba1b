package dev.vessel.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.node.cli.Vessel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * stop, start, restart, --init and restart policies of process containers, through a real vesseld and
 * its CLI: what a task sees (its signal, its exit code), what is left of it on the host, and what a
 * SIGKILLed daemon's successor does with a policy.
 */
class StopRestartTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CGROUP_PARENT = "vessel-node-test-" + UUID.randomUUID().toString().substring(0, 8);

    @TempDir
    static Path tmp;
    static Path rootfs;
    static String usr1Image;
    static DaemonProcess daemon;
    static ApiClient api;
    static final List<DaemonProcess> others = new ArrayList<>();

    @BeforeAll
    static void startDaemon() throws Exception {
        DaemonProcess.requireRoot();
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        // an image whose config says StopSignal SIGUSR1
        Path layout = tmp.resolve("layout");
        umoci("init", "--layout", layout.toString());
        umoci("new", "--image", layout + ":usr1");
        umoci("insert", "--image", layout + ":usr1", rootfs.toString(), "/");
        umoci("config", "--image", layout + ":usr1", "--config.stopsignal", "SIGUSR1");
        usr1Image = "oci:" + layout + ":usr1";
        daemon = DaemonProcess.start(tmp.resolve("node"), CGROUP_PARENT);
        api = ApiClient.unix(daemon.socket);
    }

    @AfterAll
    static void stopDaemons() throws Exception {
        try {
            List<DaemonProcess> all = new ArrayList<>(others);
            if (daemon != null) {
                all.add(daemon);
            }
            for (DaemonProcess d : all) {
                if (d.alive()) {
                    ApiClient client = ApiClient.unix(d.socket);
                    for (JsonNode c : JSON.readTree(client.get("/v1/containers").body()).get("containers")) {
                        client.delete("/v1/containers/" + c.get("id").asText() + "?force=1");
                    }
                    d.stop();
                }
            }
        } finally {
            DaemonProcess.removeCgroupParent(CGROUP_PARENT);
        }
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * Without an init the task is pid 1 of its namespace with no handler: SIGTERM (a kill, or the stop's
     * first signal) leaves it running, and stop ends it with SIGKILL once the grace period is over.
     */
    @Test
    void withoutInitSigtermIsIgnoredAndStopKillsAfterTheGracePeriod() throws Exception {
        create(shell("plain", "exec sleep 1000"));
        ok(api.post("/v1/containers/plain/kill?signal=15", ""), 200);
        // a moment for a signal that would have ended it
        Thread.sleep(500);
        assertEquals("RUNNING", status("plain").get("state").asText(), "SIGTERM is ignored by a pid 1 without handler");

        cli("stop", "-t", "1", "plain");
        JsonNode ended = status("plain");
        assertEquals("TERMINATED", ended.get("state").asText(), ended::toString);
        assertEquals(9, ended.at("/termination/signal").asInt(), "SIGKILLed after the grace period: " + ended);
        assertEquals("KILLED", ended.at("/termination/reason").asText(), ended::toString);
        assertEquals("plain\n", cli("stop", "plain"), "stopping an ended container is fine");
        ok(api.delete("/v1/containers/plain"), 200);
    }

    /**
     * With --init a plain sleep ends on the stop's SIGTERM, at once (the grace period given is far longer
     * than the test's wait), with 143; an orphan that ends is reaped (no zombie is ever left), and after the
     * stop no process of the container is left.
     */
    @Test
    void withInitSigtermEndsTheTaskAndOrphansAreReapedAndGone() throws Exception {
        ObjectNode config = shell("inited", "(sleep 1000 &); (true &); exec sleep 1000");
        config.put("init", true);
        create(config);
        long init = status("inited").get("pid").asLong();
        // the init, the task (sh exec'd into sleep) and the orphaned sleep; the orphaned true was reaped
        Map<Long, String> processes = awaitDescendants(init, p -> p.size() == 2 && !p.containsValue("Z"));
        assertEquals(Set.of("S"), Set.copyOf(processes.values()), processes::toString);

        JsonNode stopped = JSON.readTree(api.post("/v1/containers/inited/stop?timeout=600", "").body());
        assertEquals("TERMINATED", stopped.get("state").asText(), stopped::toString);
        assertEquals(143, stopped.at("/termination/exit_code").asInt(), "the init's 128 + SIGTERM: " + stopped);
        for (long pid : processes.keySet()) {
            assertFalse(Files.exists(Path.of("/proc/" + pid)), "process " + pid + " of the container is left");
        }
        assertFalse(Files.exists(Path.of("/proc/" + init)), "the init is gone");
        ok(api.delete("/v1/containers/inited"), 200);
    }

    /** The image's StopSignal is what stop sends first, and the config shows it. */
    @Test
    void stopSendsTheImagesStopSignal() throws Exception {
        ok(api.post("/v1/images/pull", JSON.createObjectNode().put("image", usr1Image).toString()), 200);
        ObjectNode config = JSON.createObjectNode().put("id", "usr1").put("image", usr1Image);
        config.putArray("command").add("/bin/sh").add("-c")
                .add("trap 'echo got-usr1; exit 3' USR1; echo ready; while true; do sleep 0.1; done");
        create(config);
        awaitLog("usr1", l -> l.contains("ready"));
        JsonNode inspected = JSON.readTree(api.get("/v1/containers/usr1").body());
        assertEquals("SIGUSR1", inspected.at("/config/stop_signal").asText(), inspected::toString);

        JsonNode stopped = JSON.readTree(api.post("/v1/containers/usr1/stop?timeout=600", "").body());
        assertEquals(3, stopped.at("/termination/exit_code").asInt(), "the trap of USR1 ended it: " + stopped);
        assertTrue(log("usr1").contains("got-usr1"), log("usr1"));
        ok(api.delete("/v1/containers/usr1"), 200);
    }

    /**
     * start runs a stopped container again, the same id and config, its log appended to; restart is a stop
     * and a start; neither is a policy's restart, so the count stays 0.
     */
    @Test
    void startAndRestartRunAStoppedContainerAgain() throws Exception {
        ObjectNode config = shell("again", "echo run; exec sleep 1000");
        config.put("init", true);
        create(config);
        awaitLog("again", "run\n"::equals);
        long first = status("again").get("pid").asLong();
        cli("stop", "again");
        assertEquals("TERMINATED", status("again").get("state").asText());

        assertEquals("again\n", cli("start", "again"));
        JsonNode started = status("again");
        assertEquals("RUNNING", started.get("state").asText(), started::toString);
        assertNotEquals(first, started.get("pid").asLong(), "a new task");
        awaitLog("again", "run\nrun\n"::equals);
        assertEquals("again\n", cli("start", "again"), "starting a running container is fine");

        long second = started.get("pid").asLong();
        assertEquals("again\n", cli("restart", "-t", "600", "again"));
        JsonNode restarted = status("again");
        assertEquals("RUNNING", restarted.get("state").asText(), restarted::toString);
        assertNotEquals(second, restarted.get("pid").asLong());
        awaitLog("again", "run\nrun\nrun\n"::equals);
        assertEquals(0, restarted.path("restart_count").asInt(), restarted::toString);
        ok(api.delete("/v1/containers/again?force=1"), 200);
    }

    /** on-failure:2 restarts a failing task exactly twice; always restarts one that succeeds until a stop. */
    @Test
    void restartPoliciesRestartAsToldAndNeverAfterAStop() throws Exception {
        ObjectNode failing = shell("fails", "echo try; exit 1");
        failing.putObject("restart").put("policy", "on-failure").put("max_retries", 2);
        create(failing);
        JsonNode done = await("fails", s -> s.path("restart_count").asInt() == 2 && s.get("state").asText().equals("TERMINATED"));
        assertEquals(1, done.at("/termination/exit_code").asInt(), done::toString);
        Thread.sleep(2000); // a third restart would have come by now (its back-off is 400 ms)
        JsonNode still = status("fails");
        assertEquals(2, still.path("restart_count").asInt(), still::toString);
        assertEquals("TERMINATED", still.get("state").asText(), still::toString);
        assertEquals("try\ntry\ntry\n", log("fails"), "the launch and two restarts");

        assertEquals("succeeds\n", cli("run", "-d", "--name", "succeeds", "--restart", "always", "--rootfs",
                rootfs.toString(), "/bin/sh", "-c", "echo ok; sleep 0.2; exit 0"));
        await("succeeds", s -> s.path("restart_count").asInt() >= 2);
        cli("stop", "succeeds");
        JsonNode stopped = status("succeeds");
        assertEquals("TERMINATED", stopped.get("state").asText(), stopped::toString);
        Thread.sleep(2000); // a restart it had due, or one the stop's end would cause, would have come by now
        JsonNode after = status("succeeds");
        assertEquals("TERMINATED", after.get("state").asText(), "a stop is never restarted: " + after);
        assertEquals(stopped.path("restart_count").asInt(), after.path("restart_count").asInt());
        ok(api.delete("/v1/containers/fails"), 200);
        ok(api.delete("/v1/containers/succeeds"), 200);
    }

    /**
     * The policy is the container's record: a daemon SIGKILLed while an always container runs is
     * succeeded by one that restarts it when it was killed meanwhile (not by a user of the API), and
     * leaves alone the one a user stopped and the one without a policy.
     */
    @Test
    void aRestartPolicyOutlivesTheDaemon() throws Exception {
        Path node = tmp.resolve("sigkill-node");
        DaemonProcess first = DaemonProcess.start(node, CGROUP_PARENT);
        others.add(first);
        ApiClient a = ApiClient.unix(first.socket);
        for (String id : List.of("always", "stopped", "never")) {
            ObjectNode config = shell(id, "exec sleep 1000");
            config.put("init", true);
            if (!id.equals("never")) {
                config.putObject("restart").put("policy", "always");
            }
            create(a, config);
        }
        ok(a.post("/v1/containers/stopped/stop", ""), 200);
        long always = JSON.readTree(a.get("/v1/containers/always").body()).at("/status/pid").asLong();
        long never = JSON.readTree(a.get("/v1/containers/never").body()).at("/status/pid").asLong();
        first.kill9();
        // both end while no daemon runs: SIGKILL to the init, from outside the API
        new ProcessBuilder("kill", "-9", Long.toString(always), Long.toString(never)).inheritIO().start().waitFor();

        DaemonProcess second = DaemonProcess.start(node, CGROUP_PARENT);
        others.add(second);
        ApiClient b = ApiClient.unix(second.socket);
        JsonNode restarted = await(b, "always", s -> s.get("state").asText().equals("RUNNING")
                && s.path("restart_count").asInt() == 1);
        assertNotEquals(always, restarted.get("pid").asLong(), restarted::toString);
        Thread.sleep(1000); // the others' restarts, were they due, would have come by now
        JsonNode neverStatus = JSON.readTree(b.get("/v1/containers/never").body()).get("status");
        assertEquals("TERMINATED", neverStatus.get("state").asText(), neverStatus::toString);
        assertEquals(9, neverStatus.at("/termination/signal").asInt(), neverStatus::toString);
        JsonNode stoppedStatus = JSON.readTree(b.get("/v1/containers/stopped").body()).get("status");
        assertEquals("TERMINATED", stoppedStatus.get("state").asText(), stoppedStatus::toString);
        assertEquals(0, stoppedStatus.path("restart_count").asInt(), stoppedStatus::toString);
        for (String id : List.of("always", "stopped", "never")) {
            ok(b.delete("/v1/containers/" + id + "?force=1"), 200);
        }
        second.stop();
    }

    /** Bad stop signals, restart policies and timeouts are refused naming the field, and change nothing. */
    @Test
    void badLifecycleInputIsRefusedNamingTheField() throws Exception {
        record Bad(String json, String field) {
        }
        for (Bad bad : List.of(
                new Bad("\"restart\":{\"policy\":\"sometimes\"}", "restart.policy"),
                new Bad("\"restart\":{\"policy\":\"on-failure\",\"max_retries\":-1}", "restart.max_retries"),
                new Bad("\"restart\":{\"policy\":\"always\",\"max_retries\":3}", "restart.max_retries"),
                new Bad("\"stop_signal\":\"SIGFOO\"", "stop_signal"),
                new Bad("\"stop_signal\":\"65\"", "stop_signal"),
                new Bad("\"stop_timeout_seconds\":-1", "stop_timeout_seconds"))) {
            String body = "{\"id\":\"bad\",\"host_rootfs\":\"" + rootfs + "\",\"command\":[\"/bin/true\"]," + bad.json() + "}";
            JsonNode error = ok(api.post("/v1/containers", body), 400);
            assertEquals(bad.field(), error.get("field").asText(), error::toString);
        }
        assertEquals(404, api.get("/v1/containers/bad").status(), "nothing was made");

        create(shell("timed", "exec sleep 1000"));
        for (String timeout : List.of("-1", "3601", "soon")) {
            JsonNode error = ok(api.post("/v1/containers/timed/stop?timeout=" + timeout, ""), 400);
            assertEquals("timeout", error.get("field").asText(), error::toString);
        }
        JsonNode running = status("timed");
        assertEquals("RUNNING", running.get("state").asText(), "a refused stop stops nothing");
        JsonNode started = ok(api.post("/v1/containers/timed/start", ""), 200);
        assertEquals(running.get("pid").asLong(), started.get("pid").asLong(), "a running container is left as it is");
        ok(api.delete("/v1/containers/timed?force=1"), 200);
        ok(api.post("/v1/containers/nope/stop", ""), 404);
        ok(api.post("/v1/containers/nope/start", ""), 404);
    }

    // ---------------------------------------------------------------------------------------------

    /** The processes descended from {@code pid} (not itself) and their states, once {@code ready} holds. */
    private static Map<Long, String> awaitDescendants(long pid, Predicate<Map<Long, String>> ready) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            Map<Long, String> found = descendants(pid);
            if (ready.test(found)) {
                return found;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the processes under " + pid + " never settled: " + found);
            }
            Thread.sleep(100);
        }
    }

    private static Map<Long, String> descendants(long root) throws IOException {
        Map<Long, Long> parents = new TreeMap<>();
        Map<Long, String> states = new TreeMap<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    long pid = Long.parseLong(p.getFileName().toString());
                    states.put(pid, fields[0]);
                    parents.put(pid, Long.parseLong(fields[1]));
                } catch (IOException gone) {
                    // ended while we looked
                }
            }
        }
        Map<Long, String> out = new TreeMap<>();
        for (long pid : parents.keySet()) {
            for (long p = parents.get(pid); parents.containsKey(p); p = parents.get(p)) {
                if (p == root) {
                    out.put(pid, states.get(pid));
                    break;
                }
            }
        }
        return out;
    }

    private static JsonNode await(String id, Predicate<JsonNode> done) throws Exception {
        return await(api, id, done);
    }

    private static JsonNode await(ApiClient client, String id, Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            JsonNode status = JSON.readTree(client.get("/v1/containers/" + id).body()).get("status");
            if (status != null && done.test(status)) {
                return status;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " never got there: " + status);
            }
            Thread.sleep(50);
        }
    }

    private static void awaitLog(String id, Predicate<String> done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!done.test(log(id))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + "'s log never got there: " + log(id));
            }
            Thread.sleep(50);
        }
    }

    private static String log(String id) throws IOException {
        return api.get("/v1/containers/" + id + "/logs").body();
    }

    private static JsonNode status(String id) throws IOException {
        return JSON.readTree(api.get("/v1/containers/" + id).body()).get("status");
    }

    private static JsonNode ok(ApiClient.Response r, int status) throws IOException {
        assertEquals(status, r.status(), r.body());
        return JSON.readTree(r.body());
    }

    private static void create(ObjectNode config) throws IOException {
        create(api, config);
    }

    private static void create(ApiClient client, ObjectNode config) throws IOException {
        ok(client.post("/v1/containers", config.toString()), 201);
    }

    private static ObjectNode shell(String id, String script) {
        ObjectNode config = JSON.createObjectNode().put("id", id).put("host_rootfs", rootfs.toString());
        config.putArray("command").add("/bin/sh").add("-c").add(script);
        return config;
    }

    /** The real CLI, in its own JVM, against the daemon's socket; its stdout. */
    private static String cli(String... args) throws Exception {
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
            throw new IllegalStateException("umoci " + String.join(" ", args) + " failed:\n" + out);
        }
    }
}
