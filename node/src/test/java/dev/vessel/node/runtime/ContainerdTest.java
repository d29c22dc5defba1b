package dev.vessel.node.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.node.DaemonProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's containerd 1.6, started by the test on a socket, root and state of its own (its CRI plugin off),
 * running containers through its runc shim with vessel-runtime as the runc binary ({@code ctr run
 * --runc-binary}), on a busybox root file system ({@code --rootfs}: no image store involved). The shim calls
 * the runtime with {@code --root <runc-root>/<namespace>}: the test's namespace is "root", so that root is
 * the fixture's and the test's vesseld serves it.
 */
class ContainerdTest {
    private static final String NAMESPACE = "root";

    @TempDir
    static Path tmp;

    static RuntimeFixture runtime;
    static Process containerd;
    static Path socket;
    static Path rootfs;

    @BeforeAll
    static void setUp() throws Exception {
        DaemonProcess.requireRoot();
        for (String tool : List.of("/usr/bin/containerd", "/usr/bin/ctr", "/usr/bin/containerd-shim-runc-v2")) {
            if (!Files.isExecutable(Path.of(tool))) {
                throw new IllegalStateException(tool + " is missing (apt-get install containerd): the test needs it");
            }
        }
        runtime = new RuntimeFixture(tmp.resolve("runtime"));
        assertEquals(tmp.resolve("runtime").resolve(NAMESPACE), runtime.root);
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        socket = tmp.resolve("containerd.sock");
        Path config = tmp.resolve("containerd.toml");
        Files.writeString(config, """
                version = 2
                root = "%s"
                state = "%s"
                disabled_plugins = ["io.containerd.grpc.v1.cri"]
                [grpc]
                  address = "%s"
                """.formatted(tmp.resolve("ctr-root"), tmp.resolve("ctr-state"), socket));
        containerd = new ProcessBuilder("containerd", "--config", config.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("containerd.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (ctr("version").exitCode() != 0) {
            if (!containerd.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("containerd did not start: " + Files.readString(tmp.resolve("containerd.log")));
            }
            Thread.sleep(100);
        }
    }

    @AfterAll
    static void tearDown() throws Exception {
        try {
            if (containerd != null) {
                for (String id : ctrOk("containers", "ls", "-q").lines().filter(l -> !l.isBlank()).toList()) {
                    ctr("task", "kill", "--signal", "SIGKILL", id);
                    ctr("task", "delete", "--force", id);
                    ctr("containers", "rm", id);
                }
                containerd.destroy();
                containerd.waitFor(60, TimeUnit.SECONDS);
            }
        } finally {
            if (runtime != null) {
                runtime.close();
            }
            DaemonProcess.removeCgroupParent(NAMESPACE); // where ctr puts a namespace's containers: /root/ID
        }
    }

    record Result(int exitCode, String output) {
    }

    private static Result ctr(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("ctr", "--address", socket.toString(), "--namespace", NAMESPACE));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(tmp, "ctr", ".out");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError(String.join(" ", command) + " did not end: " + Files.readString(out));
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }

    private static String ctrOk(String... args) throws IOException, InterruptedException {
        Result r = ctr(args);
        if (r.exitCode() != 0) {
            throw new AssertionError("ctr " + String.join(" ", args) + " exited " + r.exitCode() + ": " + r.output()
                    + runtime.daemonLog());
        }
        return r.output();
    }

    /** {@code ctr run} through vessel-runtime: runtime flags, then the container's id and command. */
    private static Result run(List<String> flags, String id, String... command) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("run", "--runc-binary", runtime.executable.toString(),
                "--runc-root", tmp.resolve("runtime").toString()));
        args.addAll(flags);
        // --rootfs is a switch: the root file system then takes the image's place, the first argument
        args.addAll(List.of("--rootfs", rootfs.toString(), id));
        args.addAll(List.of(command));
        return ctr(args.toArray(String[]::new));
    }

    @Test
    void runRmRelaysTheOutputAndTheExitCode() throws Exception {
        Result r = run(List.of("--rm"), "fg", "sh", "-c", "echo hello from containerd; echo oops >&2; exit 3");
        assertEquals(3, r.exitCode(), r.output() + runtime.daemonLog());
        assertTrue(r.output().contains("hello from containerd\n") && r.output().contains("oops\n"), r.output());
        assertFalse(runtime.ok("list", "-q").contains("fg"), "--rm deletes the container from Vessel");
    }

    @Test
    void aDetachedTaskRunsInVesselStopsOnTermAndIsDeleted() throws Exception {
        Result started = run(List.of("--detach"), "bg", "sh", "-c",
                "trap 'echo got TERM; exit 7' TERM; echo started; while true; do sleep 0.1; done");
        assertEquals(0, started.exitCode(), started.output() + runtime.daemonLog());
        assertTrue(ctrOk("task", "ls").lines().anyMatch(l -> l.startsWith("bg ") && l.contains("RUNNING")));
        // the same container, as the runtime lists it and through Vessel's own CLI on that root's daemon
        String listed = runtime.ok("list", "--format", "json");
        assertTrue(listed.contains("\"id\":\"bg\"") && listed.contains("\"status\":\"running\""), listed);
        assertTrue(runtime.vessel("ps").lines().anyMatch(l -> l.startsWith("bg ") && l.contains("RUNNING")));
        // containerd's cgroupsPath, /NAMESPACE/ID, is where the task is
        Path memory = Path.of("/sys/fs/cgroup/memory", NAMESPACE, "bg");
        long pid = new com.fasterxml.jackson.databind.ObjectMapper().readTree(runtime.ok("state", "bg")).get("pid").asLong();
        assertTrue(Files.readString(memory.resolve("cgroup.procs")).lines().anyMatch(Long.toString(pid)::equals),
                "the task in " + memory);

        ctrOk("task", "kill", "--signal", "SIGTERM", "bg");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!ctrOk("task", "ls").lines().anyMatch(l -> l.startsWith("bg ") && l.contains("STOPPED"))) {
            assertTrue(System.nanoTime() < deadline, "the task never stopped: " + ctrOk("task", "ls"));
            Thread.sleep(100);
        }
        Result deleted = ctr("task", "delete", "bg");
        assertEquals(0, deleted.exitCode(), deleted.output());
        assertTrue(deleted.output().contains("exit code 7"), deleted.output());
        ctrOk("containers", "rm", "bg");
        assertFalse(runtime.ok("list", "-q").contains("bg"), "containerd's delete removes the container from Vessel");
        assertFalse(Files.exists(memory), "its cgroup goes with it");
    }
}
