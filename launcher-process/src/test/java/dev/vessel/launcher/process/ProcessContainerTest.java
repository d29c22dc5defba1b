package dev.vessel.launcher.process;

import static dev.vessel.launcher.process.Fixtures.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.PathRules;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.linux.ProcStat;
import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real containers on a busybox rootfs, through the unified containerizer and the process launcher. */
class ProcessContainerTest {
    @TempDir
    static Path tmp;

    static Path rootfs;
    static RuntimePaths paths;
    static Path helper;
    static UnifiedContainerizer containerizer;

    @BeforeAll
    static void setUp() throws Exception {
        Fixtures.requireEnvironment();
        rootfs = Fixtures.busyboxRootfs(tmp.resolve("rootfs"));
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        ProcessLauncher launcher = ProcessLauncher.withBundledHelper(paths);
        helper = paths.launchHelper();
        containerizer = Fixtures.containerizer(paths, launcher);
    }

    @AfterEach
    void destroyLeftovers() {
        containerizer.list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                .forEach(s -> containerizer.destroy(s.getId()));
    }

    @AfterAll
    static void nothingLeft() throws Exception {
        assertEquals(List.of(), Fixtures.helperProcesses(helper), "helpers still running after the tests");
    }

    private static Termination run(ContainerConfig.Builder config) throws Exception {
        containerizer.launch(config.build());
        return containerizer.wait(config.getId()).get(10, TimeUnit.SECONDS);
    }

    private static String stdout(String id) throws Exception {
        return Fixtures.read(paths.stdoutLog(Fixtures.containerDir(paths, id)));
    }

    private static String stderr(String id) throws Exception {
        return Fixtures.read(paths.stderrLog(Fixtures.containerDir(paths, id)));
    }

    /** Waits until the container's stdout shows {@code line} (a script says it is ready). */
    private static void awaitOutput(String id, String line) throws Exception {
        LogReader logs = new LogReader(paths);
        Path dir = Fixtures.containerDir(paths, id);
        Fixtures.await(id + " to print '" + line + "'", () -> Fixtures.read(paths.stderrLog(dir))
                + Fixtures.read(paths.exitFile(dir)), () -> {
            try {
                byte[] data = logs.read(dir, LogReader.Stream.STDOUT, 0, 1 << 16).data();
                return new String(data, StandardCharsets.UTF_8).contains(line + "\n");
            } catch (Exception e) {
                return false;
            }
        });
    }

    @Test
    void reportsExitCodes() throws Exception {
        Termination ok = run(config(rootfs, "true", "/bin/true"));
        assertEquals(TerminationReason.EXITED, ok.getReason());
        assertEquals(0, ok.getExitCode());
        Termination three = run(config(rootfs, "exit3", "/bin/sh", "-c", "exit 3"));
        assertEquals(TerminationReason.EXITED, three.getReason());
        assertEquals(3, three.getExitCode());
    }

    @Test
    void reportsDeathBySignalFromOutside() throws Exception {
        containerizer.launch(config(rootfs, "victim", "/bin/sleep", "1000").build());
        long pid = containerizer.status("victim").getPid();
        // Not through the containerizer: the task just dies of a signal (EXITED, signal 9).
        assertEquals(0, new ProcessBuilder("kill", "-KILL", Long.toString(pid)).start().waitFor());
        Termination t = containerizer.wait("victim").get(10, TimeUnit.SECONDS);
        assertEquals(TerminationReason.EXITED, t.getReason());
        assertEquals(Termination.StatusCase.SIGNAL, t.getStatusCase());
        assertEquals(9, t.getSignal());
    }

    @Test
    void writesStdoutAndStderrToLogs() throws Exception {
        run(config(rootfs, "logs", "/bin/sh", "-c", "echo hello; echo oops >&2"));
        assertEquals("hello\n", stdout("logs"));
        assertEquals("oops\n", stderr("logs"));
        LogReader.Chunk tail = new LogReader(paths).read(Fixtures.containerDir(paths, "logs"), LogReader.Stream.STDOUT, 2, 100);
        assertEquals("llo\n", new String(tail.data(), StandardCharsets.UTF_8));
        assertEquals(6, tail.nextOffset());
    }

    /** runc's defaults mask /proc/keys; path rules replace them, as an OCI bundle's lists do. */
    @Test
    void pathRulesReplaceTheDefaultMaskedAndReadOnlyPaths() throws Exception {
        // a masked file is /dev/null, a character device
        String script = "[ -c /proc/keys ] && echo keys-masked; [ -c /proc/version ] && echo version-masked;"
                + " touch /etc/x 2>/dev/null || echo etc-ro";
        run(config(rootfs, "defaults", "/bin/sh", "-c", script));
        assertEquals("keys-masked\n", stdout("defaults"));
        run(config(rootfs, "rules", "/bin/sh", "-c", script).setPathRules(PathRules.newBuilder()
                .addMasked("/proc/version").addReadonly("/etc")));
        assertEquals("version-masked\netc-ro\n", stdout("rules"));
    }

    @Test
    void setsEnvironmentAndDefaultPath() throws Exception {
        run(config(rootfs, "env", "/bin/env").addEnv(EnvVar.newBuilder().setName("GREETING").setValue("hi there")));
        List<String> env = stdout("env").lines().toList();
        assertTrue(env.contains("GREETING=hi there"), env.toString());
        assertTrue(env.contains("PATH=" + PlanBuilder.DEFAULT_PATH), env.toString());
    }

    @Test
    void runsInTheWorkingDirectory() throws Exception {
        run(config(rootfs, "cwd", "pwd").setWorkingDir("/tmp")); // found through the default PATH
        assertEquals("/tmp\n", stdout("cwd"));
    }

    @Test
    void runsAsANonRootUserResolvedFromTheRootfs() throws Exception {
        run(config(rootfs, "user", "/bin/id").setUser("app"));
        assertEquals("uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n", stdout("user"));
        run(config(rootfs, "numeric-user", "/bin/id").setUser("1234:2000"));
        assertEquals("uid=1234 gid=2000(extra) groups=2000(extra)\n", stdout("numeric-user"));
        VesselException e = assertThrows(VesselException.class,
                () -> containerizer.launch(config(rootfs, "nobody", "/bin/id").setUser("nosuchuser").build()));
        assertEquals("user", e.field().orElseThrow(), e.getMessage());
    }

    @Test
    void setsTheHostnameInItsOwnUtsNamespace() throws Exception {
        String host = Fixtures.read(Path.of("/proc/sys/kernel/hostname"));
        run(config(rootfs, "host", "/bin/hostname").setHostname("box1"));
        assertEquals("box1\n", stdout("host"));
        assertEquals(host, Fixtures.read(Path.of("/proc/sys/kernel/hostname")), "the host was renamed");
    }

    /** Capabilities are the isolators' policy: with none configured the task gets none, even as root. */
    @Test
    void withoutACapabilitiesIsolatorRootHasNoCapabilities() throws Exception {
        run(config(rootfs, "no-caps", "/bin/sh", "-c", "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status; "
                + "touch /tmp/$0 && chown 1000 /tmp/$0", "f"));
        assertEquals("""
                CapInh:\t0000000000000000
                CapPrm:\t0000000000000000
                CapEff:\t0000000000000000
                CapBnd:\t0000000000000000
                CapAmb:\t0000000000000000
                """, stdout("no-caps"));
        assertTrue(stderr("no-caps").contains("Operation not permitted"), stderr("no-caps"));
    }

    @Test
    void theTaskIsPidOneOfItsNamespace() throws Exception {
        run(config(rootfs, "pid1", "/bin/sh", "-c", "echo $$"));
        assertEquals("1\n", stdout("pid1"));
    }

    /** The helper's mounts (rootfs, /proc, /sys, /dev) are made in the container's mount namespace only. */
    @Test
    void mountsInsideStayInside() throws Exception {
        containerizer.launch(config(rootfs, "mounter", "/bin/sh", "-c",
                "grep -c ' /proc ' /proc/self/mountinfo && echo ready && sleep 1000").build());
        awaitOutput("mounter", "ready");
        assertEquals("1\nready\n", stdout("mounter"));
        String host = Fixtures.read(Path.of("/proc/self/mountinfo"));
        assertFalse(host.contains(rootfs.toString()), "the container's mounts leaked to the host:\n" + host);
    }

    @Test
    void aMissingRootfsIsRefusedAndLeavesNothing() throws Exception {
        VesselException e = assertThrows(VesselException.class,
                () -> containerizer.launch(Fixtures.config(tmp.resolve("nope"), "no-rootfs", "/bin/true").build()));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals("host_rootfs", e.field().orElseThrow());
        assertLeftNothing("no-rootfs");
    }

    @Test
    void aMissingExecutableFailsNamingItAndLeavesNothing() throws Exception {
        VesselException e = assertThrows(VesselException.class,
                () -> containerizer.launch(config(rootfs, "no-exe", "/bin/nosuch").build()));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals("command", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("execve /bin/nosuch: No such file or directory"), e.getMessage());
        assertLeftNothing("no-exe");
    }

    @Test
    void aFileThatIsNotExecutableFailsAndLeavesNothing() throws Exception {
        VesselException e = assertThrows(VesselException.class,
                () -> containerizer.launch(config(rootfs, "not-exe", "/etc/motd").build()));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("execve /etc/motd: Permission denied"), e.getMessage());
        assertLeftNothing("not-exe");
    }

    @Test
    void aSetupStepThatFailsWhileJavaIsolatesIsReportedByName() throws Exception {
        // the child sets up (mounts, chdir) while Java isolates it: its failure must still name the step
        VesselException e = assertThrows(VesselException.class,
                () -> containerizer.launch(config(rootfs, "bad-cwd", "/bin/true").setWorkingDir("/no/such/dir").build()));
        assertTrue(e.getMessage().contains("chdir /no/such/dir: No such file or directory"), e.getMessage());
        assertLeftNothing("bad-cwd");
    }

    private static void assertLeftNothing(String id) throws Exception {
        assertFalse(Files.exists(Fixtures.containerDir(paths, id)), "container directory left behind");
        assertTrue(containerizer.list().stream().noneMatch(s -> s.getId().equals(id)), "container still listed");
        assertEquals(List.of(), Fixtures.helperProcesses(helper), "helper process left behind");
        assertEquals(List.of(), Fixtures.zombieChildren(), "helper left unreaped");
    }

    /** The helper is our child, not the JDK's: once the task's end is known, it has been reaped. */
    @Test
    void anEndedTaskLeavesNoZombieHelper() throws Exception {
        containerizer.launch(config(rootfs, "reaped", "/bin/sh", "-c", "exit 5").build());
        long helperPid = Fixtures.checkpoint(paths, "reaped").getHelperPid();
        assertEquals(5, containerizer.wait("reaped").get(10, TimeUnit.SECONDS).getExitCode());
        assertNotEquals("Z", Fixtures.state(helperPid), "the helper " + helperPid + " was not reaped");
        assertEquals(List.of(), Fixtures.zombieChildren(), "helpers left unreaped");
    }

    /**
     * The helper is spawned directly, and the JVM opens its files without close-on-exec: the helper
     * (the task's monitor, for as long as the task runs) must not keep any of them open. It holds
     * its stdio and what it opens itself: pipes, a signalfd, /dev/null, files of its run dir and the
     * task's attach socket.
     */
    @Test
    void theHelperKeepsNoDescriptorOfTheJvm() throws Exception {
        Path jvmOnly = Files.writeString(tmp.resolve("jvm-only"), "held by the JVM only\n");
        try (FileInputStream held = new FileInputStream(jvmOnly.toFile())) {
            containerizer.launch(config(rootfs, "fds", "/bin/sleep", "1000").build());
            long helperPid = Fixtures.checkpoint(paths, "fds").getHelperPid();
            Path dir = Fixtures.containerDir(paths, "fds");
            Map<Integer, String> fds = new TreeMap<>();
            try (Stream<Path> links = Files.list(Path.of("/proc", Long.toString(helperPid), "fd"))) {
                for (Path link : links.toList()) {
                    fds.put(Integer.parseInt(link.getFileName().toString()), Files.readSymbolicLink(link).toString());
                }
            }
            assertTrue(fds.keySet().containsAll(List.of(0, 1, 2)), fds.toString());
            assertFalse(fds.containsValue(jvmOnly.toString()), "the helper inherited the JVM's " + jvmOnly + ": " + fds);
            // a unix socket's inode and path, as the kernel lists them ("Num RefCount ... Inode Path")
            Map<String, String> unixSockets = new TreeMap<>();
            Fixtures.read(Path.of("/proc", Long.toString(helperPid), "net/unix")).lines().skip(1)
                    .map(l -> l.trim().split("\\s+")).filter(f -> f.length == 8)
                    .forEach(f -> unixSockets.put("socket:[" + f[6] + "]", f[7]));
            String attachSocket = paths.attachSocket(dir).toString();
            fds.forEach((fd, target) -> assertTrue(target.equals(dir.toString()) || target.startsWith(dir + "/")
                    || target.startsWith("pipe:") || target.startsWith("anon_inode:") || target.equals("/dev/null")
                    || attachSocket.equals(unixSockets.get(target)),
                    "the helper holds fd " + fd + " -> " + target + ", which it did not open: " + fds));
        }
    }

    @Test
    void killSendsTheSignal() throws Exception {
        containerizer.launch(config(rootfs, "killed", "/bin/sleep", "1000").build());
        containerizer.kill("killed", 9);
        Termination t = containerizer.wait("killed").get(10, TimeUnit.SECONDS);
        assertEquals(TerminationReason.KILLED, t.getReason());
        assertEquals(9, t.getSignal());

        // pid 1 of a namespace ignores SIGTERM unless it handles it (as under every runtime): this one does.
        containerizer.launch(config(rootfs, "terminated", "/bin/sh", "-c",
                "trap 'exit 143' TERM; echo ready; sleep 1000 & wait").build());
        awaitOutput("terminated", "ready");
        containerizer.kill("terminated", 15);
        Termination term = containerizer.wait("terminated").get(10, TimeUnit.SECONDS);
        assertEquals(143, term.getExitCode());
    }

    @Test
    void destroyKillsEveryProcessOfTheContainer() throws Exception {
        containerizer.launch(config(rootfs, "family", "/bin/sh", "-c", "sleep 1000 & echo ready; sleep 1000").build());
        long pid = containerizer.status("family").getPid();
        awaitOutput("family", "ready");
        List<Long> children = Fixtures.children(pid);
        assertFalse(children.isEmpty(), "the background child was not found");
        OptionalLong taskStart = ProcStat.startTime(pid);
        OptionalLong childStart = ProcStat.startTime(children.getFirst());

        Termination t = containerizer.destroy("family");
        assertEquals(TerminationReason.KILLED, t.getReason());
        assertFalse(ProcStat.isSame(pid, taskStart.orElseThrow()), "the task survived destroy");
        assertFalse(ProcStat.isSame(children.getFirst(), childStart.orElseThrow()), "the background child survived destroy");
    }
}
