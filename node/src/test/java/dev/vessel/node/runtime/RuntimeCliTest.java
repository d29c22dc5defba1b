package dev.vessel.node.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.node.DaemonProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * vessel-runtime's commands against the runtime spec's lifecycle and runc's conventions: a real vesseld
 * (started on demand by the first create), real containers on a busybox rootfs; each test once as engines
 * run bin/vessel-runtime (the native program first) and once with the Java runtime alone.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(RuntimeFixture.Mode.class)
class RuntimeCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    static RuntimeFixture runtime;
    static Path rootfs;

    @Parameter
    RuntimeFixture.Mode mode;

    @BeforeAll
    static void makeRootfs() throws Exception {
        DaemonProcess.requireRoot();
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
    }

    @BeforeParameterizedClassInvocation
    static void setUp(RuntimeFixture.Mode mode) throws Exception {
        runtime = new RuntimeFixture(tmp.resolve(mode.name()), mode);
    }

    @AfterParameterizedClassInvocation
    static void tearDown() throws Exception {
        if (runtime == null) {
            return;
        }
        runtime.close();
        assertFalse(ProcessHandle.of(runtime.daemonPid()).isPresent(), "the test's vesseld still runs");
        runtime = null;
    }

    /**
     * With a daemon running, the native program answers the hot commands (exec too) itself; the Java runtime
     * answers the rest (and, in the other mode, everything).
     */
    @Test
    void theHotCommandsRunNativelyOnceADaemonRuns() throws Exception {
        Path bundle = runtime.bundle("native", rootfs, "sleep", "600");
        runtime.ok("create", "--bundle", bundle.toString(), "warm-up"); // starts the daemon if none runs yet
        int before = runtime.javaCalls().size();
        runtime.ok("create", "--bundle", bundle.toString(), "hot");
        runtime.ok("start", "hot");
        assertEquals("running", state("hot").get("status").asText());
        assertEquals("in-hot\n", runtime.ok("exec", "hot", "echo", "in-hot"));
        runtime.ok("kill", "hot", "KILL");
        awaitStatus("hot", "stopped");
        runtime.ok("delete", "hot");
        runtime.ok("delete", "--force", "warm-up");
        List<String> calls = runtime.javaCalls().subList(before, runtime.javaCalls().size());
        if (mode == RuntimeFixture.Mode.NATIVE_FIRST) {
            assertEquals(List.of(), calls, "no JVM for create, start, state, exec, kill, delete");
        } else {
            assertTrue(calls.stream().anyMatch(c -> c.endsWith("create --bundle " + bundle + " hot"))
                    && calls.stream().anyMatch(c -> c.endsWith("delete hot")), calls.toString());
        }
        int listed = runtime.javaCalls().size();
        runtime.ok("list", "-q");
        assertEquals(listed + 1, runtime.javaCalls().size(), "list is the Java runtime's in both modes");
    }

    /** A path of this mode's own. */
    private Path dir(String name) {
        return tmp.resolve(mode.name()).resolve(name);
    }

    private static JsonNode state(String id) throws Exception {
        return JSON.readTree(runtime.ok("state", id));
    }

    private static void awaitStatus(String id, String status) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!runtime.run("state", id).stdout().contains("\"status\":\"" + status + "\"")) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " never became " + status + ": " + runtime.run("state", id));
            }
            Thread.sleep(50);
        }
    }

    /** Fails unless the process ends within 10 s. */
    private static void awaitEnd(long pid) {
        ProcessHandle.of(pid).ifPresent(p -> p.onExit().orTimeout(10, TimeUnit.SECONDS).join());
    }

    @Test
    void createLeavesTheProgramUnstartedStartRunsItAndItsExitStopsIt() throws Exception {
        Path bundle = runtime.bundle("lifecycle", rootfs, "sleep", "600");
        Path pidFile = dir("lifecycle.pid");

        runtime.ok("create", "--bundle", bundle.toString(), "--pid-file", pidFile.toString(), "life");

        JsonNode created = state("life");
        assertEquals("created", created.get("status").asText(), created.toString());
        assertEquals("life", created.get("id").asText());
        assertEquals(bundle.toString(), created.get("bundle").asText());
        assertEquals("1.0.2", created.get("ociVersion").asText());
        long pid = created.get("pid").asLong();
        assertTrue(ProcessHandle.of(pid).isPresent(), "the created task must exist");
        assertFalse(Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).startsWith("sleep"),
                "the user's program must not run before start");
        long shim = Long.parseLong(Files.readString(pidFile).trim());
        assertTrue(ProcessHandle.of(shim).isPresent(), "the pid file names the process engines wait for");

        runtime.ok("start", "life");
        assertEquals("running", state("life").get("status").asText());
        assertTrue(Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).startsWith("sleep"));
        RuntimeFixture.Result again = runtime.run("start", "life");
        assertEquals(1, again.exitCode(), "a running container cannot be started again");

        RuntimeFixture.Result refused = runtime.run("delete", "life");
        assertEquals(1, refused.exitCode());
        assertTrue(refused.stderr().contains("not stopped"), refused.stderr());
        assertEquals("running", state("life").get("status").asText(), "a refused delete changes nothing");

        runtime.ok("kill", "life", "KILL");
        awaitStatus("life", "stopped");
        assertFalse(state("life").has("pid"), "a stopped container has no pid");
        awaitEnd(shim); // the shim ends with the task
        RuntimeFixture.Result notRunning = runtime.run("kill", "life", "TERM");
        assertEquals(1, notRunning.exitCode());
        assertTrue(notRunning.stderr().contains("container not running"), notRunning.stderr());

        runtime.ok("delete", "life");
        RuntimeFixture.Result gone = runtime.run("state", "life");
        assertEquals(1, gone.exitCode());
        assertTrue(gone.stderr().contains("container does not exist"), gone.stderr());
    }

    @Test
    void aCreatedContainerIsDeletedWithoutForceAndARunningOneWithIt() throws Exception {
        Path bundle = runtime.bundle("deletes", rootfs, "sleep", "600");
        runtime.ok("create", "--bundle", bundle.toString(), "created-only");
        long pid = state("created-only").get("pid").asLong();
        runtime.ok("delete", "created-only");
        assertEquals(1, runtime.run("state", "created-only").exitCode());
        awaitEnd(pid);

        runtime.ok("run", "--detach", "--bundle", bundle.toString(), "running");
        assertEquals("running", state("running").get("status").asText());
        runtime.ok("delete", "--force", "running");
        assertEquals(1, runtime.run("state", "running").exitCode());
    }

    @Test
    void runInTheForegroundRelaysOutputAndExitsAsTheProgramDid() throws Exception {
        Path bundle = runtime.bundle("foreground", rootfs, "sh", "-c", "echo out; echo err >&2; exit 3");
        RuntimeFixture.Result r = runtime.run("run", "--bundle", bundle.toString(), "fg");
        assertEquals(3, r.exitCode(), r.stderr());
        assertEquals("out\n", r.stdout());
        assertEquals("err\n", r.stderr());
        assertEquals(1, runtime.run("state", "fg").exitCode(), "run removes the container it ran");

        // the container's init ignores a signal from inside its pid namespace: killed from outside
        Path killed = runtime.bundle("killed", rootfs, "sleep", "600");
        java.util.concurrent.CompletableFuture<RuntimeFixture.Result> foreground = java.util.concurrent.CompletableFuture
                .supplyAsync(() -> {
                    try {
                        return runtime.run("run", "--bundle", killed.toString(), "killed");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
        awaitStatus("killed", "running");
        runtime.ok("kill", "killed", "9");
        assertEquals(137, foreground.get(60, TimeUnit.SECONDS).exitCode(), "128 + SIGKILL, as a shell reports it");
    }

    /**
     * A created task waits on its daemon's pipe: a daemon killed with SIGKILL takes it along, and the next call,
     * which starts a new daemon, finds the container stopped (recovered, not lost) and can delete it.
     */
    @Test
    void aCreatedContainerIsStoppedAfterItsDaemonDied() throws Exception {
        try (RuntimeFixture fresh = new RuntimeFixture(dir("restarted"), mode)) {
            Path bundle = fresh.bundle("orphaned", rootfs, "sleep", "600");
            Path pidFile = dir("orphan.pid");
            fresh.ok("create", "--bundle", bundle.toString(), "--pid-file", pidFile.toString(), "orphan");
            long task = JSON.readTree(fresh.ok("state", "orphan")).get("pid").asLong();
            long shim = Long.parseLong(Files.readString(pidFile).trim());
            long daemon = fresh.daemonPid();
            ProcessHandle.of(daemon).orElseThrow().destroyForcibly();
            awaitEnd(daemon);
            awaitEnd(task);
            assertTrue(ProcessHandle.of(shim).isPresent(), "the shim waits for a daemon to say how the task ended");

            JsonNode state = JSON.readTree(fresh.ok("state", "orphan"));
            assertEquals("stopped", state.get("status").asText(), state.toString());
            assertTrue(fresh.daemonPid() != daemon, "a new daemon serves the root");
            awaitEnd(shim); // it asked the new daemon
            fresh.ok("delete", "orphan");
        }
    }

    /** The first calls on a root race to start its daemon; the lock makes one start, and every call succeeds. */
    @Test
    void concurrentFirstCallsOnAFreshRootStartOneDaemon() throws Exception {
        try (RuntimeFixture fresh = new RuntimeFixture(dir("fresh"), mode)) {
            Path bundle = fresh.bundle("racing", rootfs, "sleep", "600");
            List<java.util.concurrent.CompletableFuture<RuntimeFixture.Result>> calls = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                String id = "racer" + i;
                calls.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try {
                        return fresh.run("create", "--bundle", bundle.toString(), id);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            for (var call : calls) {
                RuntimeFixture.Result r = call.get(120, TimeUnit.SECONDS);
                assertEquals(0, r.exitCode(), r.stderr() + fresh.daemonLog());
            }
            assertEquals(3, fresh.ok("list", "-q").lines().filter(l -> l.startsWith("racer")).count());
            assertFalse(fresh.daemonLog().contains("Exception"), fresh.daemonLog());
        }
    }

    /** exec in the foreground relays the process's output to the caller's streams and exits as it did. */
    @Test
    void execRunsInTheContainerAndExitsAsItsProcess() throws Exception {
        Path bundle = runtime.bundle("execs", rootfs, "sh", "-c", "echo from-the-task > /tmp/mark; exec sleep 600");
        runtime.ok("create", "--bundle", bundle.toString(), "execs");
        runtime.ok("start", "execs");
        RuntimeFixture.Result r = runtime.run("exec", "execs", "sh", "-c", "cat /tmp/mark; echo err >&2; exit 4");
        for (int i = 0; i < 50 && !r.stdout().equals("from-the-task\n"); i++) { // the task writes it first
            Thread.sleep(100);
            r = runtime.run("exec", "execs", "sh", "-c", "cat /tmp/mark; echo err >&2; exit 4");
        }
        assertEquals(4, r.exitCode(), r.stderr() + runtime.daemonLog());
        assertEquals("from-the-task\n", r.stdout());
        assertEquals("err\n", r.stderr());
        RuntimeFixture.Result missing = runtime.run("exec", "execs", "/no/such/program");
        assertTrue(missing.exitCode() != 0, missing.stderr());
        runtime.ok("delete", "--force", "execs");
    }

    @Test
    void unknownIdsAndBadCallsFailAsRuncDoes() throws Exception {
        Path log = dir("runtime.log");
        for (List<String> call : List.of(List.of("state", "nosuch"), List.of("start", "nosuch"),
                List.of("kill", "nosuch", "TERM"), List.of("delete", "nosuch"))) {
            List<String> args = new java.util.ArrayList<>(List.of("--log", log.toString(), "--log-format", "json"));
            args.addAll(call);
            RuntimeFixture.Result r = runtime.run(args.toArray(String[]::new));
            assertEquals(1, r.exitCode(), call.toString());
            assertTrue(r.stderr().contains("container does not exist"), call + ": " + r.stderr());
        }
        assertEquals(0, runtime.run("delete", "--force", "nosuch").exitCode(), "as runc: nothing to delete is done");
        List<String> lines = Files.readAllLines(log);
        assertEquals(4, lines.size(), lines.toString());
        JsonNode last = JSON.readTree(lines.getLast());
        assertEquals("error", last.get("level").asText());
        assertEquals("container does not exist", last.get("msg").asText());
        assertTrue(last.has("time"));

        assertTrue(runtime.run("--systemd-cgroup", "state", "x").stderr().contains("not supported"));
        assertTrue(runtime.run("kill", "nosuch", "SIGNOPE").stderr().contains("invalid signal"));
        assertTrue(runtime.run("exec", "x").stderr().contains("no command given"));
        assertTrue(runtime.run("checkpoint", "x").stderr().contains("not implemented"));
        Path terminal = runtime.bundle("terminal", rootfs, "true");
        RuntimeFixture.Result tty = runtime.run("create", "--bundle", terminal.toString(), "--console-socket",
                dir("console.sock").toString(), "tty");
        assertEquals(1, tty.exitCode());
        assertTrue(tty.stderr().contains("process.terminal"), tty.stderr());
    }

    /** vesseld runs them on the host with the OCI state on stdin: after start, after delete. */
    @Test
    void poststartAndPoststopHooksGetTheState() throws Exception {
        Path bundle = runtime.bundle("hooks", rootfs, "sleep", "600");
        Path config = bundle.resolve("config.json");
        Path poststart = dir("poststart.json");
        Path poststop = dir("poststop.json");
        Files.writeString(config, Files.readString(config).replace("\"linux\": {", "\"hooks\": {"
                + "\"poststart\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"cat > " + poststart + "\"]}],"
                + "\"poststop\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"cat > " + poststop + "\"],"
                + " \"timeout\": 10}]}, \"linux\": {"));
        runtime.ok("create", "--bundle", bundle.toString(), "hooked");
        assertFalse(Files.exists(poststart), "poststart runs after start, not before");
        runtime.ok("start", "hooked");
        JsonNode started = JSON.readTree(Files.readString(poststart));
        assertEquals("hooked", started.get("id").asText());
        assertEquals("running", started.get("status").asText());
        runtime.ok("delete", "--force", "hooked");
        JsonNode stopped = JSON.readTree(Files.readString(poststop));
        assertEquals("stopped", stopped.get("status").asText());
        assertEquals(bundle.toString(), stopped.get("bundle").asText());
    }

    /**
     * runc's foreground run and exec with a terminal and no console socket use the caller's own: under a real
     * terminal, typed input is echoed and answered, its size and a resize reach the task, Ctrl-C interrupts, the
     * exit code is the shell's, and the caller's terminal settings are restored. Detached, a terminal still needs
     * a console socket.
     */
    @Test
    void aTerminalWithoutAConsoleSocketIsTheCallersOwnInTheForeground() throws Throwable {
        Path bundle = runtime.bundle("tty", rootfs, "sh");
        Path config = bundle.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"terminal\": false", "\"terminal\": true"));
        try (dev.vessel.node.cli.Pty pty = dev.vessel.node.cli.Pty.open(30, 90)) {
            String before = pty.settings();
            Process run = pty.spawn(List.of(runtime.executable.toString(), "run", "--bundle", bundle.toString(),
                    "tty-run"));
            pty.expect(dev.vessel.node.cli.TerminalCliTest.PROMPT);
            pty.type("stty size\r");
            pty.expect("30 90");
            dev.vessel.node.cli.TerminalCliTest.driveShell(pty, run);
            assertEquals(before, pty.settings(), "the caller's terminal is restored");
        }
        assertEquals(1, runtime.run("state", "tty-run").exitCode(), "run removes the container it ran");

        Path sleeper = runtime.bundle("tty-exec", rootfs, "sleep", "600");
        runtime.ok("run", "--detach", "--bundle", sleeper.toString(), "tty-exec");
        try (dev.vessel.node.cli.Pty pty = dev.vessel.node.cli.Pty.open(24, 80)) {
            Process exec = pty.spawn(List.of(runtime.executable.toString(), "exec", "-t", "tty-exec", "sh"));
            pty.expect(dev.vessel.node.cli.TerminalCliTest.PROMPT);
            pty.type("stty size\r");
            pty.expect("24 80");
            dev.vessel.node.cli.TerminalCliTest.driveShell(pty, exec);
        }
        runtime.ok("delete", "--force", "tty-exec");

        RuntimeFixture.Result detached = runtime.run("create", "--bundle", bundle.toString(), "tty-detached");
        assertEquals(1, detached.exitCode());
        assertTrue(detached.stderr().contains("process.terminal") && detached.stderr().contains("--console-socket"),
                detached.stderr());
        assertEquals(1, runtime.run("state", "tty-detached").exitCode(), "nothing is left of a refused create");
    }

    /**
     * A user namespace in the bundle gets its maps as they are: the task's root is host uid 100000, so what it
     * writes on a bind mount is owned by that id on the host; the rootfs, chowned to the range as an engine does,
     * is root's inside. Bad maps are refused naming the entry.
     */
    @Test
    void aUserNamespaceTakesTheBundlesMaps() throws Exception {
        // the task's root (host uid 100000) binds the rootfs and /data itself: the paths to them must be
        // passable by it, as an engine's storage is
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        Path data = Files.createDirectories(dir("userns-data"));
        Files.setOwner(data, data.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("100000"));
        java.nio.file.attribute.PosixFileAttributeView view = Files.getFileAttributeView(data,
                java.nio.file.attribute.PosixFileAttributeView.class);
        view.setGroup(data.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName("100000"));
        Path mapped = BusyboxRootfs.create(dir("userns-rootfs"));
        assertEquals(0, new ProcessBuilder("chown", "-R", "100000:100000", mapped.toString()).inheritIO().start()
                .waitFor());
        Path bundle = runtime.bundle("userns", mapped, "sh", "-c",
                "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox; echo hi > /data/file;"
                        + " cat /proc/self/oom_score_adj");
        Path config = bundle.resolve("config.json");
        var spec = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(config.toFile());
        var linux = (com.fasterxml.jackson.databind.node.ObjectNode) spec.get("linux");
        ((com.fasterxml.jackson.databind.node.ObjectNode) spec.get("process")).put("oomScoreAdj", 500);
        ((com.fasterxml.jackson.databind.node.ArrayNode) linux.get("namespaces")).addObject().put("type", "user");
        for (String maps : List.of("uidMappings", "gidMappings")) {
            linux.putArray(maps).addObject().put("containerID", 0).put("hostID", 100000).put("size", 65536);
        }
        ((com.fasterxml.jackson.databind.node.ArrayNode) spec.get("mounts")).addObject().put("destination", "/data")
                .put("type", "bind").put("source", data.toString()).putArray("options").add("rbind").add("rw");
        JSON.writeValue(config.toFile(), spec);

        RuntimeFixture.Result r = runtime.run("run", "--bundle", bundle.toString(), "userns");
        assertEquals(0, r.exitCode(), r.stderr() + runtime.daemonLog());
        List<String> lines = r.stdout().lines().map(l -> l.trim().replaceAll("\\s+", " ")).toList();
        assertEquals(List.of("0 100000 65536", "0 100000 65536", "0", "0", "500"), lines);
        assertEquals(100000, Files.getAttribute(data.resolve("file"), "unix:uid"), "written as host uid 100000");
        assertEquals("hi\n", Files.readString(data.resolve("file")));

        linux.withArray("uidMappings").addObject().put("containerID", 1000).put("hostID", 200000).put("size", 1);
        JSON.writeValue(config.toFile(), spec);
        RuntimeFixture.Result overlap = runtime.run("create", "--bundle", bundle.toString(), "overlap");
        assertEquals(1, overlap.exitCode());
        assertTrue(overlap.stderr().contains("linux.uidMappings[1].containerID") && overlap.stderr().contains("overlaps"),
                overlap.stderr());
        linux.withArray("uidMappings").remove(1);
        linux.remove("gidMappings");
        JSON.writeValue(config.toFile(), spec);
        RuntimeFixture.Result noGid = runtime.run("create", "--bundle", bundle.toString(), "no-gid");
        assertEquals(1, noGid.exitCode());
        assertTrue(noGid.stderr().contains("linux.gidMappings") && noGid.stderr().contains("required"),
                noGid.stderr());
        assertEquals(1, runtime.run("state", "no-gid").exitCode(), "nothing is left of a refused create");
    }

    /**
     * {@code linux.cgroupsPath} is where the container's cgroups are made and its task runs (what podman's stats
     * and the kubelet read); delete removes the container's cgroup and leaves the engine's parent. A path in the
     * node's own cgroup parent, or not clean, is refused naming the field.
     */
    @Test
    void theContainersCgroupsAreWhereTheBundleSays() throws Exception {
        String parent = "vessel-engine-" + mode.name().toLowerCase();
        String path = "/" + parent + "/web-1";
        Path bundle = runtime.bundle("cgroups-path", rootfs, "sleep", "600");
        Path config = bundle.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"linux\": {",
                "\"linux\": {\"cgroupsPath\": \"" + path + "\","));
        List<Path> memory = List.of(Path.of("/sys/fs/cgroup/memory" + path), Path.of("/sys/fs/cgroup/pids" + path),
                Path.of("/sys/fs/cgroup/cpuset" + path));
        try {
            runtime.ok("run", "--detach", "--bundle", bundle.toString(), "placed");
            long pid = state("placed").get("pid").asLong();
            List<String> cgroups = Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"));
            // the engine's parent is made too, a v1 cpuset one given its parent's CPUs (else no task could join)
            for (String controller : List.of("memory", "pids", "cpu", "freezer", "cpuset")) {
                assertTrue(cgroups.stream().anyMatch(l -> l.matches("\\d+:([^:]*,)?" + controller + "(,[^:]*)?:" + path)),
                        controller + " must be at " + path + ": " + cgroups);
            }
            assertTrue(Files.readString(memory.get(0).resolve("cgroup.procs")).lines().anyMatch(Long.toString(pid)::equals));
            String inspected = runtime.vessel("inspect", "placed");
            assertTrue(inspected.contains("\"" + path + "\""), "vessel inspect shows where it is: " + inspected);

            runtime.ok("delete", "--force", "placed");
            memory.forEach(dir -> assertFalse(Files.exists(dir), dir + " must go with its container"));
            memory.forEach(dir -> assertTrue(Files.isDirectory(dir.getParent()), "the engine's parent stays"));
        } finally {
            runtime.run("delete", "--force", "placed");
            DaemonProcess.removeCgroupParent(parent);
        }

        String ours = "/" + DaemonLink.cgroupParent(runtime.root) + "/web-2";
        for (String bad : List.of(ours, "/a/../b", "machine.slice:libpod:x")) {
            Files.writeString(config, Files.readString(config).replaceAll("\"cgroupsPath\": \"[^\"]*\"",
                    "\"cgroupsPath\": \"" + bad + "\""));
            RuntimeFixture.Result r = runtime.run("create", "--bundle", bundle.toString(), "misplaced");
            assertEquals(1, r.exitCode(), bad);
            assertTrue(r.stderr().contains(bad.equals(ours) ? "cgroup_path" : "linux.cgroupsPath"), r.stderr());
            assertEquals(1, runtime.run("state", "misplaced").exitCode(), "nothing is left of a refused create");
        }
        assertFalse(Files.exists(Path.of("/sys/fs/cgroup/memory" + ours)));
    }

    @Test
    void aBundleVesselCannotHonourIsRefusedNamingTheField() throws Exception {
        Path bundle = runtime.bundle("shared", rootfs, "true");
        Path config = bundle.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"linux\": {",
                "\"linux\": {\"rootfsPropagation\": \"shared\","));
        RuntimeFixture.Result r = runtime.run("create", "--bundle", bundle.toString(), "shared");
        assertEquals(1, r.exitCode());
        assertTrue(r.stderr().contains("linux.rootfsPropagation"), r.stderr());
        assertEquals(1, runtime.run("state", "shared").exitCode(), "nothing is left of a refused create");
    }

    @Test
    void aBundlesSysctlsAreSetInItsOwnNamespacesAndOneOfTheWholeKernelIsRefused() throws Exception {
        Path hostForward = Path.of("/proc/sys/net/ipv4/ip_forward");
        String before = Files.readString(hostForward).strip();
        String wanted = before.equals("1") ? "0" : "1";
        Path bundle = runtime.bundle("sysctl", rootfs, "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni");
        Path config = bundle.resolve("config.json");
        var spec = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(config.toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) spec.get("linux")).putObject("sysctl")
                .put("net.ipv4.ip_forward", wanted).put("kernel.shmmni", "1234");
        JSON.writeValue(config.toFile(), spec);
        RuntimeFixture.Result r = runtime.run("run", "--bundle", bundle.toString(), "sysctl");
        assertEquals(0, r.exitCode(), r.stderr());
        assertEquals(wanted + "\n1234\n", r.stdout(), "set in the container's network and IPC namespaces");
        assertEquals(before, Files.readString(hostForward).strip(), "the host's is untouched");

        // the host's own value: were it ever written, nothing would change
        String pidMax = Files.readString(Path.of("/proc/sys/kernel/pid_max")).strip();
        ((com.fasterxml.jackson.databind.node.ObjectNode) spec.get("linux")).putObject("sysctl")
                .put("kernel.pid_max", pidMax);
        JSON.writeValue(config.toFile(), spec);
        RuntimeFixture.Result refused = runtime.run("create", "--bundle", bundle.toString(), "sysctl-global");
        assertEquals(1, refused.exitCode());
        assertTrue(refused.stderr().contains("sysctls[kernel.pid_max]") && refused.stderr().contains("change the host"),
                refused.stderr());
        assertEquals(1, runtime.run("state", "sysctl-global").exitCode(), "nothing is left of a refused create");
    }

    @Test
    void listShowsTheContainersAndFeaturesAndSpecAreJson() throws Exception {
        Path bundle = runtime.bundle("listed", rootfs, "sleep", "600");
        runtime.ok("create", "--bundle", bundle.toString(), "listed");
        assertTrue(runtime.ok("list", "-q").lines().anyMatch("listed"::equals));
        JsonNode list = JSON.readTree(runtime.ok("list", "--format", "json"));
        JsonNode entry = null;
        for (JsonNode e : list) {
            entry = e.get("id").asText().equals("listed") ? e : entry;
        }
        assertEquals("created", entry.get("status").asText(), list.toString());
        assertTrue(runtime.ok("list").startsWith("ID"));
        runtime.ok("delete", "--force", "listed");

        JsonNode features = JSON.readTree(runtime.ok("features"));
        assertEquals("1.0.2", features.get("ociVersionMax").asText());
        assertFalse(features.path("linux").path("cgroup").path("systemd").asBoolean(true));
        RuntimeFixture.Result exists = runtime.run("spec", "--bundle", bundle.toString());
        assertEquals(1, exists.exitCode(), "spec never overwrites a config.json");
    }

    /**
     * A Kubernetes pod's containers as containerd's CRI bundles them: the sandbox has namespaces of its own, and each
     * container lists the sandbox's IPC, UTS (and with a shared process namespace, pid) ones with their paths, to
     * join them; its mount namespace stays its own.
     */
    @Test
    void aContainerJoinsItsSandboxsIpcUtsAndPidNamespacesAndKeepsItsOwnMountNamespace() throws Exception {
        Path sandbox = runtime.bundle("sandbox", rootfs, "sleep", "600");
        editConfig(sandbox, config -> config.put("hostname", "pod-host"));
        runtime.ok("run", "--detach", "--bundle", sandbox.toString(), "sandbox");
        try {
            long pause = JSON.readTree(runtime.ok("state", "sandbox")).get("pid").asLong();
            Path app = runtime.bundle("app", rootfs, "sh", "-c",
                    "hostname; for ns in ipc uts pid mnt; do readlink /proc/self/ns/$ns; done;"
                            + " tr '\\0' ' ' < /proc/1/cmdline; echo");
            editConfig(app, config -> {
                config.remove("hostname"); // the joined UTS namespace has the sandbox's
                for (JsonNode ns : config.path("linux").path("namespaces")) {
                    String type = ns.path("type").asText();
                    if (Set.of("ipc", "uts", "pid").contains(type)) {
                        ((ObjectNode) ns).put("path", "/proc/" + pause + "/ns/" + type);
                    }
                }
            });

            RuntimeFixture.Result r = runtime.run("run", "--bundle", app.toString(), "app");

            assertEquals(0, r.exitCode(), r.stderr());
            List<String> lines = r.stdout().lines().toList();
            assertEquals(6, lines.size(), r::stdout);
            assertEquals("pod-host", lines.get(0), "the sandbox's host name");
            for (int i = 0; i < 3; i++) {
                String type = List.of("ipc", "uts", "pid").get(i);
                assertEquals(Files.readSymbolicLink(Path.of("/proc", Long.toString(pause), "ns", type)).toString(),
                        lines.get(1 + i), type + ": the sandbox's");
            }
            assertNotEquals(Files.readSymbolicLink(Path.of("/proc", Long.toString(pause), "ns", "mnt")).toString(),
                    lines.get(4), "its own mount namespace");
            assertEquals("sleep 600 ", lines.get(5), "pid 1 of the joined pid namespace is the sandbox's task");
        } finally {
            runtime.ok("delete", "--force", "sandbox");
        }
    }

    /**
     * A path to the host's own namespace would share it (as listing none would, or the network host), and one to
     * nothing fails early: IPC's, and the network's (a podman pod's member names its infra's, which must never be
     * taken for the host's).
     */
    @Test
    void theHostsNamespaceAndAMissingOneAreRefusedNamingTheField() throws Exception {
        String self = "/proc/" + ProcessHandle.current().pid();
        String nowhere = tmp.resolve("no-namespace").toString();
        for (String[] c : new String[][] {{"ipc", self + "/ns/ipc", "namespace_paths[ipc]", "is the host's ipc"},
                {"ipc", "/proc/self/ns/ipc", "namespace_paths[ipc]", "is the host's ipc"},
                {"ipc", nowhere, "namespace_paths[ipc]", "is no namespace to join"},
                {"network", self + "/ns/net", "network_namespace_path", "is the host's net"},
                {"network", nowhere, "network_namespace_path", "is no namespace to join"}}) {
            Path bundle = runtime.bundle("joins-host-" + c[0] + c[1].hashCode(), rootfs, "true");
            editConfig(bundle, config -> {
                for (JsonNode ns : config.path("linux").path("namespaces")) {
                    if (ns.path("type").asText().equals(c[0])) {
                        ((ObjectNode) ns).put("path", c[1]);
                    }
                }
            });
            RuntimeFixture.Result r = runtime.run("create", "--bundle", bundle.toString(), "joins-host");
            assertEquals(1, r.exitCode(), c[1]);
            assertTrue(r.stderr().contains(c[2]) && r.stderr().contains(c[3]), r.stderr());
            assertEquals(1, runtime.run("state", "joins-host").exitCode(), "nothing is left of a refused create");
        }
    }

    private static void editConfig(Path bundle, java.util.function.Consumer<ObjectNode> change) throws Exception {
        Path config = bundle.resolve("config.json");
        ObjectNode json = (ObjectNode) JSON.readTree(config.toFile());
        change.accept(json);
        Files.writeString(config, json.toString());
    }
}
