package dev.vessel.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import dev.vessel.node.cli.Vessel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Process pods through a real vesseld and its CLI: members sharing the pod's network, IPC and UTS namespaces
 * and keeping their own pid and mount namespaces and rootfs, their cgroups nested under the pod's, a member's
 * exit, pod stop and rm, a daemon SIGKILL, and bad input.
 */
class PodsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CGROUP_PARENT = "vessel-pods-test-" + UUID.randomUUID().toString().substring(0, 8);

    @TempDir
    static Path tmp;
    static DaemonProcess daemon;
    static ApiClient api;

    @BeforeAll
    static void startDaemon() throws Exception {
        DaemonProcess.requireRoot();
        daemon = DaemonProcess.start(tmp.resolve("node"), CGROUP_PARENT);
        api = ApiClient.unix(daemon.socket);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        try {
            if (daemon != null && daemon.alive()) {
                for (JsonNode p : JSON.readTree(api.get("/v1/pods").body()).get("pods")) {
                    api.delete("/v1/pods/" + p.at("/status/id").asText() + "?force=1");
                }
                for (JsonNode c : JSON.readTree(api.get("/v1/containers").body()).get("containers")) {
                    api.delete("/v1/containers/" + c.get("id").asText() + "?force=1");
                }
                daemon.stop();
            }
        } finally {
            DaemonProcess.removeCgroupParent(CGROUP_PARENT);
        }
    }

    /**
     * Two members of a pod: a web server on 127.0.0.1 in one answers a client in the other; both see the pod's
     * host name and the pod's task's net, IPC and UTS namespaces, and each has its own pid and mount namespace
     * and rootfs. A third member's exit leaves the pod and the others running; pod rm is refused while the pod
     * runs, and rm -f takes the members with it, leaving nothing of any of them.
     */
    @Test
    void membersShareTheNetworkIpcAndHostNameAndKeepTheirOwnRest() throws Exception {
        String hostForward = Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip();
        String forward = hostForward.equals("1") ? "0" : "1";
        assertEquals("web\n", cli("pod", "create", "--hostname", "podhost", "--sysctl", "net.ipv4.ip_forward=" + forward,
                "--sysctl", "kernel.shmmni=1234", "web"));
        long pause = status("web").get("pid").asLong();
        assertEquals("RUNNING", status("web").get("state").asText());

        create(member("web", "server", "mkdir -p /www && echo hello-from-server > /www/index.html"
                + " && exec httpd -f -p 127.0.0.1:8080 -h /www"));
        create(member("web", "client", "for i in $(seq 1 300); do wget -qO- http://127.0.0.1:8080/ && break;"
                + " sleep 0.1; done; echo host=$(hostname); echo sysctls=$(cat /proc/sys/net/ipv4/ip_forward"
                + " /proc/sys/kernel/shmmni); test -e /www || echo own-rootfs; exec sleep 1000"));
        awaitLog("client", l -> l.contains("own-rootfs"));
        String log = log("client");
        assertTrue(log.contains("hello-from-server"), "the client reached the server on 127.0.0.1: " + log);
        assertTrue(log.contains("host=podhost"), "the pod's host name: " + log);
        assertTrue(log.contains("sysctls=" + forward + " 1234"), "the pod's kernel parameters: " + log);
        assertEquals(hostForward, Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip(), "the host's");

        long server = status("server").get("pid").asLong();
        long client = status("client").get("pid").asLong();
        for (String ns : List.of("net", "ipc", "uts")) {
            assertEquals(ns(pause, ns), ns(server, ns), ns + ": the server is in the pod's");
            assertEquals(ns(pause, ns), ns(client, ns), ns + ": the client is in the pod's");
        }
        for (String ns : List.of("pid", "mnt")) {
            assertNotEquals(ns(server, ns), ns(client, ns), ns + ": each member has its own");
            assertNotEquals(ns(pause, ns), ns(client, ns), ns + ": a member's is not the pod's");
        }
        assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString(), ns(pause, "net"), "the pod has a network namespace of its own");

        String ps = cli("ps");
        assertTrue(ps.lines().anyMatch(l -> l.matches("client .* web +client *")), ps);
        assertTrue(ps.lines().noneMatch(l -> l.startsWith("web ")), "a pod is listed by pod ls, not ps: " + ps);
        String ls = cli("pod", "ls");
        assertTrue(ls.lines().anyMatch(l -> l.startsWith("web ") && l.contains("RUNNING") && l.contains("client")
                && l.contains("server")), ls);

        create(member("web", "quitter", "exit 3"));
        JsonNode quit = await("quitter", s -> s.get("state").asText().equals("TERMINATED"));
        assertEquals(3, quit.at("/termination/exit_code").asInt(), quit::toString);
        assertEquals("RUNNING", status("web").get("state").asText(), "a member's exit leaves the pod running");
        assertEquals("RUNNING", status("server").get("state").asText());

        ApiClient.Response refused = api.delete("/v1/pods/web");
        assertEquals(409, refused.status(), refused.body());
        assertTrue(refused.body().contains("web"), refused.body());
        assertEquals("RUNNING", status("server").get("state").asText(), "a refused rm changes nothing");

        assertEquals("web\n", cli("pod", "rm", "-f", "web"));
        assertEquals(404, api.get("/v1/pods/web").status());
        for (String id : List.of("web", "server", "client", "quitter")) {
            assertEquals(404, api.get("/v1/containers/" + id).status(), id + " went with its pod");
            assertEquals(List.of(), Leftovers.of(id, daemon, CGROUP_PARENT, null), id);
        }
        for (long pid : List.of(pause, server, client)) {
            assertFalse(Files.exists(Path.of("/proc/" + pid)), "process " + pid + " is gone");
        }
    }

    /**
     * The pod's memory limit is on its cgroup, its members' cgroups are below it (the kernel reports the
     * pod's limit as each member's hierarchical one), and what a member uses counts against the pod.
     */
    @Test
    void thePodsLimitsCapItsMembersTogether() throws Exception {
        cli("pod", "create", "--memory", "64m", "--cpus", "0.5", "capped");
        create(member("capped", "filler", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=20 2>/dev/null && echo filled;"
                + " exec sleep 1000"));
        awaitLog("filler", l -> l.contains("filled"));
        long filler = status("filler").get("pid").asLong();

        CgroupHierarchy memory = CgroupHierarchies.detect().forController("memory").orElseThrow();
        Path pod = memory.mountPoint().resolve(CGROUP_PARENT).resolve("capped");
        Path member = pod.resolve("filler");
        assertTrue(Files.isDirectory(member), "the member's cgroup is under the pod's: " + member);
        String inside = Files.readAllLines(Path.of("/proc/" + filler + "/cgroup")).stream()
                .filter(l -> memory.unified() ? l.startsWith("0::") : List.of(l.split(":")[1].split(",")).contains("memory"))
                .findFirst().orElseThrow();
        assertTrue(inside.endsWith("/" + CGROUP_PARENT + "/capped/filler"), inside);
        long limit = 64L << 20;
        if (memory.unified()) {
            assertEquals(Long.toString(limit), Files.readString(pod.resolve("memory.max")).strip());
            assertTrue(Long.parseLong(Files.readString(pod.resolve("memory.current")).strip()) >= 20L << 20);
        } else {
            assertEquals(limit, Long.parseLong(Files.readString(pod.resolve("memory.limit_in_bytes")).strip()));
            String stat = Files.readString(member.resolve("memory.stat"));
            assertTrue(stat.contains("hierarchical_memory_limit " + limit), "the pod's limit caps the member: " + stat);
            assertTrue(Long.parseLong(Files.readString(pod.resolve("memory.usage_in_bytes")).strip()) >= 20L << 20,
                    "the member's 20 MiB count against the pod");
        }
        JsonNode inspected = JSON.readTree(cli("pod", "inspect", "--json", "capped"));
        assertEquals(67108864L, inspected.at("/config/resources/memory_bytes").asLong(), inspected::toString);
        assertEquals("filler", inspected.at("/members/0/id").asText(), inspected::toString);

        assertEquals("capped\n", cli("pod", "stop", "-t", "1", "capped"));
        assertEquals("TERMINATED", status("filler").get("state").asText(), "stop ends the members");
        assertEquals("TERMINATED", status("capped").get("state").asText(), "then the pod");
        assertEquals("capped\n", cli("pod", "rm", "capped"), "a stopped pod is removed without -f");
        assertEquals(List.of(), Leftovers.of("capped", daemon, CGROUP_PARENT, null));
    }

    /**
     * A SIGKILLed daemon's successor finds the pod and its members running, and a new member still joins
     * their network; a pod whose record went while no daemon ran is cleaned away with its members.
     */
    @Test
    void podsSurviveADaemonSigkillAndAPodGoneMeanwhileLeavesNothing() throws Exception {
        cli("pod", "create", "kept");
        create(member("kept", "kept-server", "mkdir -p /www && echo still-here > /www/index.html"
                + " && exec httpd -f -p 127.0.0.1:8081 -h /www"));
        cli("pod", "create", "lost");
        create(member("lost", "lost-member", "exec sleep 1000"));
        long keptPod = status("kept").get("pid").asLong();
        long keptServer = status("kept-server").get("pid").asLong();
        long lostPod = status("lost").get("pid").asLong();
        long lostMember = status("lost-member").get("pid").asLong();

        daemon.kill9();
        Path lostDir = daemon.runDir().resolve("containers").resolve("lost");
        assertTrue(Files.isDirectory(lostDir.resolve("containers").resolve("lost-member")), "members nest in the pod's dir");
        deleteTree(lostDir);
        daemon = DaemonProcess.start(tmp.resolve("node"), CGROUP_PARENT);
        api = ApiClient.unix(daemon.socket);

        assertEquals("RUNNING", status("kept").get("state").asText());
        assertEquals(keptPod, status("kept").get("pid").asLong());
        assertEquals("RUNNING", status("kept-server").get("state").asText());
        assertEquals(keptServer, status("kept-server").get("pid").asLong());
        create(member("kept", "late-client", "for i in $(seq 1 300); do wget -qO- http://127.0.0.1:8081/ && break;"
                + " sleep 0.1; done; echo done"));
        awaitLog("late-client", l -> l.contains("done"));
        assertTrue(log("late-client").contains("still-here"), log("late-client"));

        assertEquals(404, api.get("/v1/pods/lost").status());
        assertEquals(404, api.get("/v1/containers/lost-member").status());
        assertFalse(Files.exists(Path.of("/proc/" + lostPod)), "the gone pod's task was killed");
        assertFalse(Files.exists(Path.of("/proc/" + lostMember)), "the gone pod's member was killed");
        for (String id : List.of("lost", "lost-member")) {
            assertEquals(List.of(), Leftovers.of(id, daemon, CGROUP_PARENT, null), id);
        }
        cli("pod", "rm", "-f", "kept");
        assertEquals(List.of(), Leftovers.of("kept", daemon, CGROUP_PARENT, null));
    }

    /** Bad pods and members are refused naming the field, and nothing is made. */
    @Test
    void badInputIsRefusedNamingTheField() throws Exception {
        refused(api.post("/v1/pods", "{}"), "name");
        refused(api.post("/v1/pods", "{\"name\":\"a/b\"}"), "name");
        refused(api.post("/v1/pods", "{\"name\":\"p\",\"image\":\"busybox\"}"), "image");
        refused(api.post("/v1/pods", "{\"name\":\"p\",\"resources\":{\"memory_bytes\":-5}}"), "resources.memory_bytes");
        refused(api.post("/v1/pods", "{\"name\":\"p\",\"hostname\":\"-bad-\"}"), "hostname");
        refused(api.post("/v1/pods", "{\"name\":\"p\",\"vm\":{\"vcpus\":1}}"), "vm");
        assertEquals(404, api.get("/v1/pods/p").status(), "nothing was made");

        ApiClient.Response noPod = api.post("/v1/containers", member("no-such-pod", "m", "true").toString());
        assertEquals(404, noPod.status(), noPod.body());
        assertEquals("parent_id", JSON.readTree(noPod.body()).path("field").asText(), noPod.body());
        create(shell("plain", "exec sleep 1000"));
        refused(api.post("/v1/containers", member("plain", "m", "true").toString()), "parent_id");
        cli("pod", "create", "strict");
        ObjectNode networked = member("strict", "m", "true");
        networked.putArray("networks").addObject().put("network", "somenet");
        refused(api.post("/v1/containers", networked.toString()), "networks");
        refused(api.post("/v1/containers", member("strict", "m", "true").put("hostname", "other").toString()), "hostname");
        ObjectNode tuned = member("strict", "m", "true");
        tuned.putObject("sysctls").put("kernel.shmmax", "1");
        refused(api.post("/v1/containers", tuned.toString()), "sysctls[kernel.shmmax]");
        refused(api.post("/v1/pods", "{\"name\":\"p\",\"sysctls\":{\"vm.swappiness\":\"1\"}}"), "sysctls[vm.swappiness]");
        assertEquals(404, api.get("/v1/containers/m").status(), "nothing was made");
        assertEquals(404, api.get("/v1/pods/plain").status(), "a container that is not a pod is no pod");

        Process p = cliProcess("pod", "create", "-p", "8080:80", "portless");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(125, p.waitFor(), out);
        assertTrue(out.contains("--publish"), out);
        cli("pod", "rm", "-f", "strict");
        api.delete("/v1/containers/plain?force=1");
    }

    // ---------------------------------------------------------------------------------------------

    private static void refused(ApiClient.Response r, String field) throws IOException {
        assertEquals(400, r.status(), r.body());
        assertEquals(field, JSON.readTree(r.body()).path("field").asText(), r.body());
    }

    private static String ns(long pid, String ns) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/" + ns)).toString();
    }

    private static ObjectNode member(String pod, String id, String script) throws IOException {
        return shell(id, script).put("parent_id", pod);
    }

    /** A container on a busybox rootfs of its own. */
    private static ObjectNode shell(String id, String script) throws IOException {
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs-" + id + "-" + System.nanoTime()));
        ObjectNode config = JSON.createObjectNode().put("id", id).put("host_rootfs", rootfs.toString());
        config.putArray("command").add("/bin/sh").add("-c").add(script);
        return config;
    }

    private static JsonNode await(String id, Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            JsonNode status = status(id);
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
                throw new AssertionError(id + "'s log never got there: " + log(id) + " / " + status(id));
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

    private static void create(ObjectNode config) throws IOException {
        ApiClient.Response r = api.post("/v1/containers", config.toString());
        assertEquals(201, r.status(), r.body());
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var all = Files.walk(dir)) {
            for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static Process cliProcess(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Vessel.class.getName(), "--host", "unix://" + daemon.socket));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    /** The real CLI, in its own JVM, against the daemon's socket; its stdout. */
    private static String cli(String... args) throws Exception {
        Process p = cliProcess(args);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }
}
