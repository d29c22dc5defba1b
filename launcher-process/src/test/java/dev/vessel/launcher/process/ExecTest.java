package dev.vessel.launcher.process;

import static dev.vessel.launcher.process.Fixtures.config;
import static dev.vessel.launcher.process.Fixtures.readToEnd;
import static dev.vessel.launcher.process.Fixtures.readUntil;
import static dev.vessel.launcher.process.Fixtures.stdin;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.CapabilitySet;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Namespace;
import dev.vessel.core.model.Rlimit;
import dev.vessel.core.model.SeccompFilter;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ExecPlan;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ProcessLauncher.exec}: a process run by the launch helper inside a running container, entering
 * its task's namespaces (JOIN_NS) with its cgroups, capabilities, seccomp filter, rlimits, user and root,
 * its own monitor, exit file and attach socket; found again by a launcher that did not start it.
 */
@Timeout(120)
class ExecTest {
    @TempDir
    static Path tmp;

    static final String PARENT = "vessel-exec-" + UUID.randomUUID().toString().substring(0, 8);
    static final boolean X86_64 = System.getProperty("os.arch").equals("amd64");
    /** acct(2): denied by the containers' filter, used by nothing here. */
    static final int ACCT = X86_64 ? 163 : 89;
    static final List<String> CAPS = List.of("CAP_CHOWN", "CAP_KILL", "CAP_SETGID", "CAP_SETUID");
    /** CAPS as a mask, as /proc/<pid>/status shows it. */
    static final String CAPS_MASK = String.format("%016x", (1L << 0) | (1L << 5) | (1L << 6) | (1L << 7));

    static Path rootfs;
    static RuntimePaths paths;
    static ProcessLauncher launcher;
    static UnifiedContainerizer containerizer;
    static final List<Path> cgroupMounts = new ArrayList<>();
    static final AtomicInteger execs = new AtomicInteger();

    /** What the isolators would give: namespaces, a hostname, capabilities, a seccomp filter, an rlimit, cgroups. */
    static final class ConfiningIsolator implements Isolator {
        @Override
        public String name() {
            return "test/confining";
        }

        @Override
        public LaunchInfo prepare(PrepareContext context) throws IOException {
            LaunchInfo.Builder info = LaunchInfo.newBuilder()
                    .addAllNamespaces(List.of(Namespace.IPC, Namespace.UTS, Namespace.NET, Namespace.CGROUP))
                    .setHostname("box-" + context.containerId())
                    .setCapabilities(CapabilitySet.newBuilder().addAllBounding(CAPS).addAllEffective(CAPS)
                            .addAllPermitted(CAPS))
                    .setSeccomp(SeccompFilter.newBuilder().setProgram(ByteString.copyFrom(
                            SeccompFilterLaunchTest.denying(List.of(ACCT)))))
                    .addRlimits(Rlimit.newBuilder().setType("RLIMIT_NOFILE").setSoft(123).setHard(123))
                    .addEnv(EnvVar.newBuilder().setName("FROM_ISOLATOR").setValue("yes"));
            for (Path mount : cgroupMounts) {
                Path dir = Files.createDirectories(mount.resolve(PARENT).resolve(context.containerId()));
                info.addCgroups(dir.toString());
            }
            return info.build();
        }

        @Override
        public void cleanup(ContainerContext context) throws IOException {
            for (Path mount : cgroupMounts) {
                Files.deleteIfExists(mount.resolve(PARENT).resolve(context.containerId()));
            }
        }
    }

    @BeforeAll
    static void setUp() throws Exception {
        Fixtures.requireEnvironment();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] after = line.substring(line.indexOf(" - ") + 3).split(" ");
            boolean v1 = after[0].equals("cgroup") && List.of(after[2].split(",")).contains("pids");
            if (v1 || after[0].equals("cgroup2")) {
                cgroupMounts.add(Path.of(line.split(" ")[4]));
            }
        }
        assertFalse(cgroupMounts.isEmpty(), "no pids or v2 cgroup hierarchy on this host");
        rootfs = Fixtures.busyboxRootfs(tmp.resolve("rootfs"));
        Files.writeString(rootfs.resolve("etc/marker"), "the container's own\n");
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        launcher = ProcessLauncher.withBundledHelper(paths);
        containerizer = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(launcher).isolators(List.of(new ConfiningIsolator())).build();
        containerizer.recover();
    }

    @AfterEach
    void destroyLeftovers() {
        containerizer.list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                .forEach(s -> containerizer.destroy(s.getId()));
    }

    @AfterAll
    static void nothingLeft() throws Exception {
        containerizer.list().forEach(s -> containerizer.destroy(s.getId()));
        for (Path mount : cgroupMounts) {
            Files.deleteIfExists(mount.resolve(PARENT));
        }
        assertEquals(List.of(), Fixtures.helperProcesses(paths.launchHelper()), "helpers still running after the tests");
    }

    /** A running container as user app (1000), env FOO=task, cwd /home/app. */
    static long container(String id, boolean init) throws Exception {
        containerizer.launch(config(rootfs, id, "/bin/sleep", "1000").setUser("app").setWorkingDir("/home/app")
                .addEnv(EnvVar.newBuilder().setName("FOO").setValue("task")).setInit(init).build());
        return containerizer.status(id).getPid();
    }

    static ContainerContext context(String id) {
        return Fixtures.context(containerizer, paths, id);
    }

    static ExecPlan plan(String id, ExecConfig.Builder config) {
        String execId = "e" + execs.incrementAndGet();
        Path dir = paths.execDir(Fixtures.containerDir(paths, id), execId);
        return new ExecPlan(execId, config.build(), dir, Checkpoint.at(paths.launcherCheckpoint(dir)));
    }

    static ExecConfig.Builder command(String... command) {
        return ExecConfig.newBuilder().addAllCommand(List.of(command));
    }

    static String proc(long pid, String file) throws IOException {
        return Fixtures.read(Path.of("/proc", Long.toString(pid), file));
    }

    static String ns(long pid, String name) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", name)).toString();
    }

    /** The lines of /proc/<pid>/status that start with one of {@code keys}. */
    static List<String> status(long pid, String... keys) throws IOException {
        return proc(pid, "status").lines().filter(l -> List.of(keys).contains(l.substring(0, l.indexOf(':'))))
                .toList();
    }

    @Test
    void anExecEntersTheTasksNamespacesAndSeesItsPids() throws Exception {
        long task = container("joined", false);
        ExecPlan plan = plan("joined", command("/bin/sh", "-c",
                "read x; hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$").setInteractive(true));
        ExecutedProcess exec = launcher.exec(context("joined"), plan);
        for (String name : List.of("ipc", "uts", "net", "pid", "mnt", "cgroup")) {
            assertEquals(ns(task, name), ns(exec.pid(), name), name);
        }
        assertNotEquals(ns(ProcessHandle.current().pid(), "net"), ns(exec.pid(), "net"));
        try (StdioChannel c = exec.attach()) {
            c.write(stdin("\n"));
            Fixtures.Received r = readToEnd(c, new Fixtures.Received());
            String[] lines = r.stdout.toString().split("\n");
            assertEquals("box-joined", lines[0]);
            assertEquals("/bin/sleep 1000 ", lines[1]); // the task is pid 1 of the namespace the exec is in
            assertTrue(Integer.parseInt(lines[2]) > 1, "the exec is not the namespace's pid 1: " + lines[2]);
            assertEquals(0, r.exit);
        }
        assertEquals(0, exec.exit().get(10, TimeUnit.SECONDS));
    }

    @Test
    void anExecHasTheTasksConfinementUserCgroupsAndRoot() throws Exception {
        long task = container("confined", false);
        ExecutedProcess exec = launcher.exec(context("confined"), plan("confined",
                command("/bin/sh", "-c", "read x; cat /etc/marker; pwd; echo $FOO $FROM_ISOLATOR").setInteractive(true)));
        String[] keys = {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
                "Seccomp", "Seccomp_filters"};
        assertEquals(status(task, keys), status(exec.pid(), keys));
        assertTrue(status(exec.pid(), "Uid").getFirst().startsWith("Uid:\t1000\t"), status(exec.pid(), "Uid")::toString);
        assertEquals(List.of("CapBnd:\t" + CAPS_MASK), status(exec.pid(), "CapBnd"));
        assertEquals(List.of("Seccomp:\t2"), status(exec.pid(), "Seccomp"));
        assertEquals(proc(task, "cgroup"), proc(exec.pid(), "cgroup"));
        assertTrue(proc(exec.pid(), "cgroup").contains(PARENT + "/confined"), proc(exec.pid(), "cgroup"));
        String nofile = "Max open files            123                  123                  files     ";
        assertTrue(proc(exec.pid(), "limits").contains(nofile), proc(exec.pid(), "limits"));
        assertEquals(Files.getAttribute(Path.of("/proc", Long.toString(task), "root/"), "unix:ino"),
                Files.getAttribute(Path.of("/proc", Long.toString(exec.pid()), "root/"), "unix:ino"));
        try (StdioChannel c = exec.attach()) {
            c.write(stdin("\n"));
            Fixtures.Received r = readToEnd(c, new Fixtures.Received());
            assertEquals("the container's own\n/home/app\ntask yes\n", r.stdout.toString());
        }
    }

    /** Attached before it runs: a process that prints and ends at once is never missed, however quick. */
    @Test
    void anExecAttachedBeforeItRunsMissesNothingItPrints() throws Exception {
        container("quick", false);
        for (int i = 0; i < 5; i++) {
            AttachedExec exec = launcher.execAttached(context("quick"), plan("quick",
                    command("/bin/sh", "-c", "echo quick-" + i + "; exit " + i)));
            try (StdioChannel c = exec.stdio()) {
                Fixtures.Received r = readToEnd(c, new Fixtures.Received());
                assertEquals("quick-" + i + "\n", r.stdout.toString());
                assertEquals(i, r.exit);
            }
            assertEquals(i, exec.process().exit().get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void anExecTakesItsOwnUserWorkingDirAndEnv() throws Exception {
        container("override", false);
        ExecutedProcess exec = launcher.exec(context("override"), plan("override",
                command("/bin/sh", "-c", "id; pwd; echo $FOO; grep CapEff /proc/self/status").setUser("root")
                        .setWorkingDir("/tmp").addEnv(EnvVar.newBuilder().setName("FOO").setValue("exec"))));
        assertEquals(0, exec.exit().get(10, TimeUnit.SECONDS));
        Path dir = Fixtures.containerDir(paths, "override").resolve("execs").resolve("e" + execs.get());
        // root gets the launch info's capabilities, which the container's user did not
        assertEquals("uid=0(root) gid=0(root) groups=0(root)\n/tmp\nexec\nCapEff:\t" + CAPS_MASK + "\n",
                Fixtures.read(paths.stdoutLog(dir)));

        ExecutedProcess byName = launcher.exec(context("override"), plan("override", command("id").setUser("app")));
        assertEquals(0, byName.exit().get(10, TimeUnit.SECONDS));
        Path byNameDir = Fixtures.containerDir(paths, "override").resolve("execs").resolve("e" + execs.get());
        assertEquals("uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n",
                Fixtures.read(paths.stdoutLog(byNameDir)));
    }

    @Test
    void badExecsAreRefusedNamingTheField() throws Exception {
        container("refusing", false);
        VesselException user = assertThrows(VesselException.class,
                () -> launcher.exec(context("refusing"), plan("refusing", command("id").setUser("nosuch"))));
        assertEquals(Optional.of("user"), user.field(), user::getMessage);
        VesselException missing = assertThrows(VesselException.class,
                () -> launcher.exec(context("refusing"), plan("refusing", command("/bin/nosuch"))));
        assertEquals(Optional.of("command"), missing.field(), missing::getMessage);
        assertTrue(missing.getMessage().contains("execve /bin/nosuch: No such file or directory"), missing::getMessage);
        VesselException cwd = assertThrows(VesselException.class,
                () -> launcher.exec(context("refusing"), plan("refusing", command("true").setWorkingDir("/nosuch"))));
        assertEquals(Optional.of("working_dir"), cwd.field(), cwd::getMessage);
    }

    @Test
    void anExecWithATerminalGetsAPtyOfTheContainersDevptsAndCtrlCInterruptsIt() throws Exception {
        container("tty", false);
        ExecutedProcess exec = launcher.exec(context("tty"), plan("tty", command("/bin/sh", "-c",
                "read x; tty; echo $(ls /dev/pts); stty size; echo ready; sleep 1000").setTty(true).setInteractive(true)));
        try (StdioChannel c = exec.attach()) {
            c.write(stdin("\n"));
            Fixtures.Received r = readUntil(c, new Fixtures.Received(), "ready");
            assertTrue(r.stdout.toString().contains("/dev/pts/0\r\n0 ptmx\r\n24 80\r\n"), r.stdout::toString);
            c.write(stdin("\u0003"));
            assertEquals(130, readToEnd(c, r).exit, r.stdout::toString);
        }
        assertEquals(130, exec.exit().get(10, TimeUnit.SECONDS));
    }

    @Test
    void anExecIsFoundAgainByAnotherLauncherAliveOrEnded() throws Exception {
        container("recovered", false);
        ExecPlan ended = plan("recovered", command("/bin/sh", "-c", "exit 3"));
        assertEquals(3, launcher.exec(context("recovered"), ended).exit().get(10, TimeUnit.SECONDS));
        ExecPlan running = plan("recovered", command("/bin/sleep", "1000"));
        ExecutedProcess original = launcher.exec(context("recovered"), running);

        ProcessLauncher restarted = new ProcessLauncher(paths, paths.launchHelper());
        assertEquals(3, restarted.recoverExec(context("recovered"), ended).orElseThrow().exit().get(10, TimeUnit.SECONDS));
        ExecutedProcess found = restarted.recoverExec(context("recovered"), running).orElseThrow();
        assertEquals(original.pid(), found.pid());
        assertFalse(found.exit().isDone());
        found.signal(15); // not the namespace's pid 1: SIGTERM's default action ends it
        assertEquals(143, found.exit().get(10, TimeUnit.SECONDS));
        assertEquals(143, original.exit().get(10, TimeUnit.SECONDS));
        assertEquals(ContainerState.RUNNING, containerizer.status("recovered").getState());

        assertTrue(restarted.recoverExec(context("recovered"), plan("recovered", command("never-run"))).isEmpty());
    }

    @Test
    void anExecEndsWithItsContainer() throws Exception {
        container("ending", false);
        ExecutedProcess exec = launcher.exec(context("ending"), plan("ending", command("/bin/sleep", "1000")));
        containerizer.destroy("ending");
        assertEquals(137, exec.exit().get(10, TimeUnit.SECONDS)); // its pid namespace ended
        assertThrows(VesselException.class, () -> launcher.exec(context("ending"), plan("ending", command("true"))));
    }

    @Test
    void anExecBesideAnInitIsReapedByItsOwnMonitor() throws Exception {
        long init = container("init", true);
        ExecutedProcess exec = launcher.exec(context("init"), plan("init",
                command("/bin/sh", "-c", "read x; exit 5").setInteractive(true)));
        assertEquals(ns(init, "pid"), ns(exec.pid(), "pid"));
        try (StdioChannel c = exec.attach()) {
            c.write(stdin("\n"));
            assertEquals(5, readToEnd(c, new Fixtures.Received()).exit);
        }
        // the init, which reaps every child of its own, neither took the exec's status nor ended with it
        assertEquals(5, exec.exit().get(10, TimeUnit.SECONDS));
        assertEquals(ContainerState.RUNNING, containerizer.status("init").getState());
    }
}
