package dev.vessel.node.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.node.DaemonProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
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
 * A bundle's prestart and createRuntime hooks: vesseld runs them on the host during create, once the task
 * exists and before its program, with the OCI state on stdin; one that fails fails the create and leaves no
 * container. Once with the native program first, once with the Java runtime alone (each answers a create).
 */
@ParameterizedClass(name = "{0}")
@EnumSource(RuntimeFixture.Mode.class)
class RuntimeHooksTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The pid in the OCI state on a hook's stdin, which the hook saved to the file named by $1. */
    private static final String PID_OF = "pid=$(sed -n 's/.*\"pid\":\\([0-9]*\\).*/\\1/p' \"$1\")\n";

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
     * prestart, then createRuntime, each with the state (status creating, the task's pid); createRuntime writes
     * through /proc/PID/root into the container's own /dev/shm, a tmpfs of its mount namespace, where the program
     * finds it when start runs it.
     */
    @Test
    void prestartAndCreateRuntimeRunDuringCreateWithTheTasksPid() throws Exception {
        Path prestart = dir("prestart.json");
        Path createRuntime = dir("createRuntime.json");
        Path bundle = runtime.bundle("ordered", rootfs, "sh", "-c", "cat /dev/shm/hooked > /dev/shm/seen; sleep 600");
        hooks(bundle, "\"prestart\": [" + hook(script("prestart.sh", "cat > \"$1\"\n"), prestart) + "],"
                + "\"createRuntime\": [" + hook(script("createRuntime.sh", "cat > \"$1\"\n" + PID_OF
                        + "test -s " + prestart + " || exit 9\n"
                        + "echo hooked-$pid > /proc/$pid/root/dev/shm/hooked\n"), createRuntime) + "]");

        runtime.ok("create", "--bundle", bundle.toString(), "ordered");
        JsonNode created = JSON.readTree(runtime.ok("state", "ordered"));
        long pid = created.get("pid").asLong();
        for (Path state : List.of(prestart, createRuntime)) {
            JsonNode seen = JSON.readTree(Files.readString(state));
            assertEquals("ordered", seen.get("id").asText(), state.toString());
            assertEquals("creating", seen.get("status").asText(), state.toString());
            assertEquals(pid, seen.get("pid").asLong(), "the hook gets the task's pid: " + state);
            assertEquals(bundle.toString(), seen.get("bundle").asText());
        }
        assertEquals("created", created.get("status").asText());

        runtime.ok("start", "ordered");
        Path seen = Path.of("/proc", Long.toString(pid), "root", "dev", "shm", "seen");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(seen) || Files.size(seen) == 0) {
            assertTrue(System.nanoTime() < deadline, "the program never wrote " + seen);
            Thread.sleep(50);
        }
        assertEquals("hooked-" + pid + "\n", Files.readString(seen), "the program sees what createRuntime wrote");
        runtime.ok("delete", "--force", "ordered");
    }

    /**
     * A createRuntime hook that exits 3 fails the create with its JSON path, status and output; the hooks after it
     * do not run, and neither the task nor its cgroups are left. A prestart hook past its timeout fails it too.
     */
    @Test
    void aFailingCreateHookFailsTheCreateAndLeavesNoContainer() throws Exception {
        Path state = dir("failing.json");
        Path cgroups = dir("failing.cgroups");
        Path after = dir("after");
        Path bundle = runtime.bundle("failing", rootfs, "sleep", "600");
        hooks(bundle, "\"createRuntime\": [" + hook(script("failing.sh", "cat > \"$1\"\n" + PID_OF
                + "cat /proc/$pid/cgroup > " + cgroups + "\necho no network for you >&2\nexit 3\n"), state) + ", "
                + hook(script("after.sh", "touch \"$1\"\n"), after) + "]");

        RuntimeFixture.Result r = runtime.run("create", "--bundle", bundle.toString(), "failing");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.stderr().contains("hooks.createRuntime[0]") && r.stderr().contains("exited 3")
                && r.stderr().contains("no network for you"), r.stderr());
        assertFalse(Files.exists(after), "the hooks after a failed one do not run");
        assertEquals(1, runtime.run("state", "failing").exitCode(), "no container is left");
        long pid = JSON.readTree(Files.readString(state)).get("pid").asLong();
        assertTrue(pid > 0);
        assertFalse(ProcessHandle.of(pid).isPresent(), "the task is gone");
        List<String[]> lines = Files.readAllLines(cgroups).stream().map(l -> l.split(":", 3)).toList();
        int checked = 0;
        for (String[] line : lines) {
            String controller = line[1].isEmpty() ? "unified" : line[1].replace("name=", "");
            if (!line[2].equals("/") && Files.isDirectory(Path.of("/sys/fs/cgroup", controller))) {
                assertTrue(line[2].contains("failing"), "the task's own cgroup: " + line[2]);
                assertFalse(Files.exists(Path.of("/sys/fs/cgroup", controller, line[2])), "left: " + line[2]);
                checked++;
            }
        }
        assertTrue(checked > 0, "the task had cgroups of its own: " + lines.stream().map(l -> l[2]).toList());

        Path slow = runtime.bundle("slow", rootfs, "sleep", "600");
        hooks(slow, "\"prestart\": [{\"path\": \"/bin/sleep\", \"args\": [\"sleep\", \"600\"], \"timeout\": 1}]");
        RuntimeFixture.Result timedOut = runtime.run("create", "--bundle", slow.toString(), "slow");
        assertEquals(1, timedOut.exitCode(), timedOut.toString());
        assertTrue(timedOut.stderr().contains("hooks.prestart[0]") && timedOut.stderr().contains("timeout"),
                timedOut.stderr());
        assertEquals(1, runtime.run("state", "slow").exitCode(), "no container is left");
    }

    /**
     * createContainer runs during create after createRuntime, its path the host's, in the task's namespaces (its
     * hostname, network and pid namespaces) but the host's mount namespace (it writes to a host path), with the
     * state on stdin. One that fails fails the create naming it.
     */
    @Test
    void createContainerRunsInTheTasksNamespacesAfterCreateRuntime() throws Exception {
        Path createRuntime = dir("cc-createRuntime.json");
        Path state = dir("cc-state.json");
        Path seen = dir("cc-seen");
        Path bundle = runtime.bundle("cc", rootfs, "sleep", "600");
        hooks(bundle, "\"createRuntime\": [" + hook(script("cc-runtime.sh", "cat > \"$1\"\n"), createRuntime) + "],"
                + "\"createContainer\": [" + hook(script("cc-container.sh", "cat > \"$1\"\n"
                + "test -s " + createRuntime + " || exit 9\n"
                + "{ hostname; for ns in net pid uts mnt; do readlink /proc/self/ns/$ns; done; } > " + seen + "\n"),
                state) + "]");

        runtime.ok("create", "--bundle", bundle.toString(), "cc");
        long pid = JSON.readTree(runtime.ok("state", "cc")).get("pid").asLong();
        JsonNode given = JSON.readTree(Files.readString(state));
        assertEquals("cc", given.get("id").asText());
        assertEquals("creating", given.get("status").asText());
        assertEquals(pid, given.get("pid").asLong());
        List<String> lines = Files.readAllLines(seen);
        String task = "/proc/" + pid + "/ns/";
        assertEquals(List.of("vessel", Files.readSymbolicLink(Path.of(task + "net")).toString(),
                Files.readSymbolicLink(Path.of(task + "pid")).toString(),
                Files.readSymbolicLink(Path.of(task + "uts")).toString(),
                Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")).toString()), lines,
                "the task's hostname, network, pid and uts namespaces; the host's mount namespace");
        runtime.ok("delete", "--force", "cc");

        Path failing = runtime.bundle("cc-fail", rootfs, "sleep", "600");
        hooks(failing, "\"createContainer\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"echo refused >&2;"
                + " exit 7\"]}]");
        RuntimeFixture.Result r = runtime.run("create", "--bundle", failing.toString(), "cc-fail");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.stderr().contains("hooks.createContainer[0]") && r.stderr().contains("exited 7")
                && r.stderr().contains("refused"), r.stderr());
        assertEquals(1, runtime.run("state", "cc-fail").exitCode(), "no container is left");
    }

    /**
     * startContainer runs in start, inside the container before its program: its path exists only in the
     * container's root, it sees the container's hostname and /dev/shm, and gets the state on stdin. One that
     * fails fails the start naming it, and the container is stopped.
     */
    @Test
    void startContainerRunsInsideTheContainerBeforeItsProgram() throws Exception {
        String hook = "/start-hook-" + mode.name();
        Path script = rootfs.resolve(hook.substring(1));
        Files.writeString(script, "#!/bin/sh\ncat > /dev/shm/start-state\nhostname > /dev/shm/start-hostname\n"
                + "test -z \"$FAIL\" || { echo failed as asked; exit 4; }\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertFalse(Files.exists(Path.of(hook)), "the hook's path is the container's, not the host's");
        Path bundle = runtime.bundle("sc", rootfs, "sh", "-c", "cat /dev/shm/start-hostname > /dev/shm/seen; sleep 600");
        hooks(bundle, "\"startContainer\": [{\"path\": \"" + hook + "\"}]");

        runtime.ok("create", "--bundle", bundle.toString(), "sc");
        long pid = JSON.readTree(runtime.ok("state", "sc")).get("pid").asLong();
        Path shm = Path.of("/proc", Long.toString(pid), "root", "dev", "shm");
        assertFalse(Files.exists(shm.resolve("start-state")), "startContainer runs in start, not in create");
        runtime.ok("start", "sc");
        JsonNode state = JSON.readTree(Files.readString(shm.resolve("start-state")));
        assertEquals("sc", state.get("id").asText());
        assertEquals(pid, state.get("pid").asLong());
        Path seen = shm.resolve("seen");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(seen) || Files.size(seen) == 0) {
            assertTrue(System.nanoTime() < deadline, "the program never wrote " + seen);
            Thread.sleep(50);
        }
        assertEquals("vessel\n", Files.readString(seen), "the hook saw the container's hostname, before the program");
        runtime.ok("delete", "--force", "sc");

        Path failing = runtime.bundle("sc-fail", rootfs, "sh", "-c", "touch /dev/shm/ran; sleep 600");
        hooks(failing, "\"startContainer\": [{\"path\": \"" + hook + "\", \"env\": [\"FAIL=1\"]}]");
        runtime.ok("create", "--bundle", failing.toString(), "sc-fail");
        RuntimeFixture.Result r = runtime.run("start", "sc-fail");
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.stderr().contains("hooks.startContainer[0]") && r.stderr().contains("exited 4")
                && r.stderr().contains("failed as asked"), r.stderr());
        assertTrue(runtime.ok("state", "sc-fail").contains("\"status\":\"stopped\""));
        runtime.ok("delete", "sc-fail");
    }

    /** A path of this mode's own. */
    private Path dir(String name) {
        return tmp.resolve(mode.name()).resolve(name);
    }

    /** An executable shell script of this mode's own. */
    private Path script(String name, String body) throws Exception {
        Path script = dir(name);
        Files.writeString(script, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    /** A hook running {@code script} with {@code arg} as $1, and a PATH of its own (hooks get only their env). */
    private static String hook(Path script, Path arg) {
        return "{\"path\": \"" + script + "\", \"args\": [\"hook\", \"" + arg + "\"], \"env\": [\"PATH=/usr/bin:/bin\"],"
                + " \"timeout\": 30}";
    }

    private static void hooks(Path bundle, String hooks) throws Exception {
        Path config = bundle.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"linux\": {", "\"hooks\": {" + hooks
                + "}, \"linux\": {"));
    }
}
