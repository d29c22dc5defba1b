package dev.vessel.node.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.node.DaemonProcess;
import dev.vessel.node.cli.Pty;
import dev.vessel.node.cli.TerminalCliTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's podman 4.3 with {@code --runtime} pointing at vessel-runtime: its storage, run root, network
 * configuration and containers.conf all in the test's directory, so the host's podman state is untouched,
 * and {@code --network none} (podman still makes the container's network namespace, which the task joins),
 * so no bridge or firewall rule is made on the host. The image is a busybox rootfs imported from a tarball.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PodmanTest {
    private static final String IMAGE = PodmanFixture.IMAGE;

    @TempDir
    static Path tmp;

    static RuntimeFixture runtime;
    static PodmanFixture podman;

    @BeforeAll
    static void setUp() throws Exception {
        DaemonProcess.requireRoot();
        runtime = new RuntimeFixture(tmp.resolve("runtime"));
        podman = new PodmanFixture(tmp, runtime);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (runtime == null) {
            return;
        }
        try {
            if (podman != null) {
                podman.close();
            }
        } finally {
            runtime.close();
        }
    }

    private static PodmanFixture.Result podman(String... args) throws IOException, InterruptedException {
        return podman.podman(args);
    }

    private static String podmanOk(String... args) throws IOException, InterruptedException {
        return podman.ok(args);
    }

    private static List<String> podmanCommand(String... args) {
        return podman.command(args);
    }

    /** A host command (iptables), its output and error together. */
    private static PodmanFixture.Result exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new PodmanFixture.Result(p.waitFor(), output);
    }

    @Test
    void runRmPrintsTheOutputAndKeepsTheExitCode() throws Exception {
        assertEquals("hi\n", podmanOk("run", "--rm", "--network", "none", IMAGE, "echo", "hi"));
        PodmanFixture.Result failed = podman("run", "--rm", "--network", "none", IMAGE, "sh", "-c", "echo oops >&2; exit 5");
        assertEquals(5, failed.exitCode());
        assertTrue(failed.output().contains("oops"), failed.output());
        assertEquals("", podmanOk("ps", "-aq"), "--rm leaves no container");
    }

    /** podman --device sends the node in linux.devices and an allow rule with its permissions. */
    @Test
    void aDeviceReachesTheContainerAtItsPathWithItsPermissions() throws Exception {
        assertEquals(" 00 00 00 00\nrefused\n", podmanOk("run", "--rm", "--network", "none", "--device",
                "/dev/zero:/dev/myzero:r", IMAGE, "sh", "-c", "head -c 4 /dev/myzero | od -An -tx1 | tr -s ' ';"
                        + " (echo x > /dev/myzero) 2>/dev/null && echo wrote || echo refused"));
        assertEquals("absent\n", podmanOk("run", "--rm", "--network", "none", IMAGE, "sh", "-c",
                "test -e /dev/myzero && echo present || echo absent"));
    }

    @Test
    void aDetachedContainerLogsStopsAndIsRemovedAndVesselSeesIt() throws Exception {
        String id = podmanOk("run", "-d", "--network", "none", IMAGE, "sh", "-c",
                "trap 'echo got TERM; exit 7' TERM; echo started; while true; do sleep 0.1; done").strip();
        awaitLogs(id, "started");
        assertTrue(podmanOk("ps", "--format", "{{.ID}} {{.Status}}").contains(id.substring(0, 12) + " Up"));
        // the same container, as the runtime lists it and through Vessel's own CLI on that root's daemon
        String listed = runtime.ok("list", "--format", "json");
        assertTrue(listed.contains("\"id\":\"" + id + "\"") && listed.contains("\"status\":\"running\""), listed);
        String ps = runtime.vessel("ps");
        assertTrue(ps.contains(id.substring(0, 12)) && ps.contains("RUNNING"), ps);

        podmanOk("stop", "--time", "10", id);
        assertEquals("7 exited", podmanOk("inspect", "--format", "{{.State.ExitCode}} {{.State.Status}}", id).strip());
        assertEquals("started\ngot TERM\n", podmanOk("logs", id));
        podmanOk("rm", id);
        assertFalse(runtime.ok("list", "-q").contains(id), "podman rm deletes the container from Vessel");
    }

    /**
     * podman exec: conmon runs {@code vessel-runtime exec --detach --process FILE} and waits for the exec shim,
     * its child once the runtime exited, whose exit status is the command's.
     */
    @Test
    void execRunsInTheContainer() throws Exception {
        String id = podmanOk("run", "-d", "--network", "none", IMAGE, "sh", "-c",
                "echo from-the-task > /tmp/mark; exec sleep 600").strip();
        awaitExecOutput(id, "from-the-task\n", "cat", "/tmp/mark");
        PodmanFixture.Result r = podman("exec", id, "sh", "-c", "cat /tmp/mark; echo oops >&2; exit 4");
        assertEquals(4, r.exitCode(), r.output() + runtime.daemonLog());
        assertTrue(r.output().contains("from-the-task\n") && r.output().contains("oops\n"), r.output());
        // the task's pid namespace: its sleep is pid 1 there
        assertEquals("sleep 600", podman("exec", id, "cat", "/proc/1/cmdline").output().replace('\0', ' ').strip());
        assertEquals("1000\n", podman("exec", "--user", "1000", id, "id", "-u").output());
        // podman top reads /proc in the mount namespace of the pid file's process, the shim, which lives in the
        // task's: the container's processes, not the host's
        List<String> top = podmanOk("top", id, "pid", "args").lines().skip(1).map(String::strip).toList();
        assertEquals(List.of("1 sleep 600"), top.stream().map(l -> l.replaceAll("\\s+", " ")).toList(),
                "the container's one process");
        podmanOk("rm", "-f", id);
    }

    /** podman --ipc/--uts/--pid container:ID lists the other container's namespaces with their paths: joined. */
    @Test
    void aContainerJoinsAnotherContainersIpcUtsAndPidNamespaces() throws Exception {
        String first = podmanOk("run", "-d", "--network", "none", "--hostname", "first-host", IMAGE, "sleep", "600")
                .strip();
        try {
            assertEquals("first-host\nsleep 600 \n", podmanOk("run", "--rm", "--network", "none", "--ipc",
                    "container:" + first, "--uts", "container:" + first, "--pid", "container:" + first, IMAGE, "sh",
                    "-c", "hostname; tr '\\0' ' ' < /proc/1/cmdline; echo"));
        } finally {
            podmanOk("rm", "-f", first);
        }
    }

    /** podman run --init: its catatonit, bound from the host, is the task's pid 1; the exit code is the command's. */
    @Test
    void initMakesPodmansCatatonitTheTasksPidOne() throws Exception {
        PodmanFixture.Result r = podman("run", "--rm", "--network", "none", "--init", IMAGE, "sh", "-c",
                "tr '\\0' ' ' < /proc/1/cmdline; exit 3");
        assertEquals(3, r.exitCode(), r::output);
        assertTrue(r.output().startsWith("/run/podman-init -- sh -c"), r.output());
    }

    /**
     * A podman pod: its infra container (podman's own pause image, catatonit) holds the network, IPC and UTS
     * namespaces, and every member joins them through the runtime; removing the pod leaves Vessel nothing. Run
     * first in its class ({@code @Order}): its pod's infra container starts the root's daemon.
     */
    @Test
    @Order(1)
    void aPodsMembersShareItsInfraContainersNetworkIpcAndUts() throws Exception {
        // on no network of podman's: its default bridge would be left on the host; loopback is the pod's own
        podmanOk("pod", "create", "--name", "vessel-pod", "--hostname", "pod-host", "--network", "none");
        List<String> ids;
        try {
            podmanOk("run", "-d", "--name", "pod-server", "--pod", "vessel-pod", IMAGE, "sh", "-c",
                    "while :; do echo pod-hello | nc -l -p 7070; done");
            // while the server runs (its namespaces alive, their inodes not reused), a second member's are the same
            String script = "hostname; for ns in net ipc uts; do readlink /proc/self/ns/$ns; done;"
                    + " tr '\\0' ' ' < /proc/1/cmdline | cut -c1-9";
            List<String> server = podmanOk("exec", "pod-server", "sh", "-c", script).lines().toList();
            List<String> member = podmanOk("run", "--rm", "--pod", "vessel-pod", IMAGE, "sh", "-c", script).lines()
                    .toList();
            assertEquals("pod-host", server.get(0), server::toString);
            assertEquals(server.subList(0, 4), member.subList(0, 4), "the members' host name, network, IPC or UTS");
            assertEquals(List.of("sh -c whi", "sh -c hos"), List.of(server.get(4), member.get(4)),
                    "each member is the init of a pid namespace of its own, podman's default");
            for (int i = 1; i < 4; i++) {
                String type = server.get(i).substring(0, server.get(i).indexOf(':'));
                assertNotEquals(Files.readSymbolicLink(Path.of("/proc/self/ns", type)).toString(), server.get(i),
                        "a member is in the host's " + type + " namespace");
            }
            // what one member serves on the pod's loopback another reaches
            awaitExecOutput("pod-server", "", "sh", "-c", "netstat -ltn | grep -q :7070 || echo waiting");
            assertEquals("pod-hello\n", podmanOk("run", "--rm", "--pod", "vessel-pod", IMAGE, "sh", "-c",
                    "nc 127.0.0.1 7070 < /dev/null"));
            ids = podmanOk("ps", "--all", "--no-trunc", "--filter", "pod=vessel-pod", "--format", "{{.ID}}")
                    .lines().toList();
            assertEquals(2, ids.size(), "the infra container and the server: " + ids);
            String running = runtime.ok("list", "--quiet");
            assertTrue(ids.stream().allMatch(running::contains), "the runtime lists " + running + ", not " + ids);
        } finally {
            podmanOk("pod", "rm", "--force", "vessel-pod");
        }
        // the daemon the pod's first call started is in none of the pod's cgroups, which podman killed
        String left = runtime.vessel("ps", "--all", "--quiet");
        assertTrue(ids.stream().noneMatch(id -> left.contains(id.substring(0, 12))),
                "the pod's containers are left in Vessel: " + left);
    }

    private static void awaitExecOutput(String id, String expected, String... command) throws Exception {
        List<String> args = new ArrayList<>(List.of("exec", id));
        args.addAll(List.of(command));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        PodmanFixture.Result r;
        while (!(r = podman(args.toArray(String[]::new))).output().equals(expected)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("podman exec " + String.join(" ", command) + ": " + r.output()
                        + runtime.daemonLog());
            }
            Thread.sleep(100);
        }
    }

    /**
     * podman run -it under a real terminal: conmon takes the master the shim sends to its console socket; the
     * container's terminal is Vessel's. Typed input is echoed and answered, a resize reaches it, Ctrl-C
     * interrupts, and its exit code is podman's.
     */
    @Test
    void runItGivesATerminal() throws Throwable {
        try (Pty pty = Pty.open(30, 90)) {
            Process podman = pty.spawn(podmanCommand("run", "-it", "--rm", "--network", "none", IMAGE, "sh"),
                    Map.of("CONTAINERS_CONF", tmp.resolve("containers.conf").toString()));
            pty.expect(TerminalCliTest.PROMPT);
            pty.type("stty size\r");
            pty.expect("30 90");
            TerminalCliTest.driveShell(pty, podman);
        }
        assertEquals("", podmanOk("ps", "-aq"), "--rm leaves no container");
    }

    /** podman exec -it: the exec's own terminal, through the exec shim's console socket. */
    @Test
    void execItGivesATerminal() throws Throwable {
        String id = podmanOk("run", "-d", "--network", "none", IMAGE, "sleep", "600").strip();
        try (Pty pty = Pty.open(24, 80)) {
            Process podman = pty.spawn(podmanCommand("exec", "-it", id, "sh"),
                    Map.of("CONTAINERS_CONF", tmp.resolve("containers.conf").toString()));
            pty.expect(TerminalCliTest.PROMPT);
            TerminalCliTest.driveShell(pty, podman);
        }
        podmanOk("rm", "-f", id);
    }

    @Test
    void killEndsAContainerWithTheSignal() throws Exception {
        String id = podmanOk("run", "-d", "--network", "none", IMAGE, "sleep", "600").strip();
        podmanOk("kill", "--signal", "KILL", id);
        podmanOk("wait", id);
        assertEquals("137", podmanOk("inspect", "--format", "{{.State.ExitCode}}", id).strip());
        podmanOk("rm", id);
    }

    /**
     * podman pause, unpause and update call the runtime's pause, resume and update. (podman top is not
     * checked: podman reads the processes in the namespaces of the pid the runtime's pid file names, the shim's.)
     */
    @Test
    void pauseUnpauseAndUpdateGoThroughTheRuntime() throws Exception {
        String id = podmanOk("run", "-d", "--network", "none", IMAGE, "sleep", "600").strip();
        podmanOk("pause", id);
        assertEquals("paused", podmanOk("inspect", "--format", "{{.State.Status}}", id).strip());
        assertTrue(runtime.ok("state", id).contains("\"status\":\"paused\""));
        assertTrue(runtime.vessel("ps").contains("PAUSED"));
        podmanOk("unpause", id);
        assertEquals("running", podmanOk("inspect", "--format", "{{.State.Status}}", id).strip());
        assertTrue(runtime.ok("state", id).contains("\"status\":\"running\""));

        podmanOk("update", "--memory", "64m", id);
        podmanOk("update", "--cpus", "0.5", id);
        com.fasterxml.jackson.databind.JsonNode inspect = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(runtime.vessel("inspect", id));
        com.fasterxml.jackson.databind.JsonNode limits = (inspect.isArray() ? inspect.get(0) : inspect).path("config")
                .path("resources");
        assertEquals(64L << 20, limits.path("memory_bytes").asLong(), inspect.toString());
        assertEquals(0.5, limits.path("cpus").asDouble(), inspect.toString());
        // podman stats reads the cgroup podman asked for (linux.cgroupsPath), where the runtime put the task
        // (before, it read the cgroup of the pid file's process, conmon's: dozens of pids and conmon's memory)
        String stats = podmanOk("stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}", id).strip();
        assertTrue(stats.matches("([0-9.]+kB|[0-9]\\.[0-9]+MB) / .*\\|1"), "the one sleep's pid and memory: " + stats);
        podmanOk("rm", "-f", id);
    }

    @Test
    void aBindMountAndAReadOnlyRootWork() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("data"));
        Files.writeString(data.resolve("in.txt"), "from the host\n");
        String out = podmanOk("run", "--rm", "--network", "none", "--read-only", "-v", data + ":/data:ro", IMAGE, "sh",
                "-c", "cat /data/in.txt; touch /data/x 2>/dev/null || echo data-ro; touch /etc/x 2>/dev/null"
                        + " || echo root-ro; touch /tmp/x && echo tmp-rw");
        assertEquals("from the host\ndata-ro\nroot-ro\ntmp-rw\n", out);
    }

    /**
     * A podman network (a CNI bridge made here, removed after) and a published port: the task joins the network
     * namespace podman made and wired, and the host reaches its server through the port.
     */
    @Test
    void aPublishedPortOnAPodmanNetworkReachesTheTask() throws Exception {
        String network = "vessel-test-net";
        Iptables before = Iptables.now();
        podmanOk("network", "create", "--subnet", "10.89.213.0/24", network);
        try {
            String id = podmanOk("run", "-d", "--network", network, "-p", "10.89.213.1:18213:8080", IMAGE, "sh", "-c",
                    "hostname -i > /tmp/index.html; exec httpd -f -p 8080 -h /tmp").strip();
            String served = PodmanFixture.awaitServed("http://10.89.213.1:18213/index.html", Duration.ofSeconds(30),
                    () -> podmanOk("logs", id));
            assertTrue(served.strip().startsWith("10.89.213."), "the task's address on the podman network: " + served);
            podmanOk("rm", "-f", id);
        } finally {
            podman("network", "rm", "-f", network);
            before.restore();
        }
    }

    /** podman's --oom-score-adj: the task's OOM score, and its execs'. */
    @Test
    void anOomScoreReachesTheTaskAndItsExecs() throws Exception {
        String id = podmanOk("run", "-d", "--network", "none", "--oom-score-adj", "300", IMAGE, "sleep", "600").strip();
        assertEquals("300\n", podmanOk("exec", id, "cat", "/proc/self/oom_score_adj"));
        assertEquals("300\n", podmanOk("exec", id, "cat", "/proc/1/oom_score_adj"));
        podmanOk("rm", "-f", id);
    }

    @Test
    void aNonRootUserRunsWithItsIds() throws Exception {
        assertEquals("1000 1000\n", podmanOk("run", "--rm", "--network", "none", "--user", "1000:1000", IMAGE, "sh", "-c",
                "echo $(id -u) $(id -g)"));
    }

    /** podman's --uidmap gives the bundle a user namespace and a rootfs owned by the range: root inside writes. */
    @Test
    void aUserNamespaceMapsTheContainersIds() throws Exception {
        String out = podmanOk("run", "--rm", "--network", "none", "--uidmap", "0:200000:65536", "--gidmap",
                "0:200000:65536", IMAGE, "sh", "-c", "cat /proc/self/uid_map; id -u; touch /made && stat -c %u /made");
        assertEquals(List.of("0 200000 65536", "0", "0"),
                out.lines().map(l -> l.trim().replaceAll("\\s+", " ")).toList(), out);
    }

    /** podman refuses a parameter of the whole kernel itself; the runtime's own refusal: RuntimeCliTest. */
    @Test
    void sysctlsAreSetInTheContainersOwnNamespaces() throws Exception {
        String before = Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip();
        String wanted = before.equals("1") ? "0" : "1";
        String out = podmanOk("run", "--rm", "--network", "none", "--sysctl", "net.ipv4.ip_forward=" + wanted,
                "--sysctl", "kernel.shmmni=1234", IMAGE, "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni");
        assertEquals(wanted + "\n1234\n", out);
        assertEquals(before, Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).strip(), "the host's");
    }

    private static void awaitLogs(String id, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!podmanOk("logs", id).contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " never logged " + text);
            }
            Thread.sleep(100);
        }
    }
}
