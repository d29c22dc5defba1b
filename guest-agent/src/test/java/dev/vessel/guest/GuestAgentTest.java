package dev.vessel.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.agent.AgentStreams;
import dev.vessel.core.agent.DestroyTask;
import dev.vessel.core.agent.ExecExited;
import dev.vessel.core.agent.GuestDisk;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.GuestMount;
import dev.vessel.core.agent.HelloAck;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.LaunchTask;
import dev.vessel.core.agent.OpenStream;
import dev.vessel.core.agent.Ping;
import dev.vessel.core.agent.ProtocolVersion;
import dev.vessel.core.agent.SignalTask;
import dev.vessel.core.agent.StartExec;
import dev.vessel.core.agent.TaskExited;
import dev.vessel.core.agent.UpdateResources;
import dev.vessel.core.agent.UsageRequest;
import dev.vessel.core.agent.WarmUp;
import dev.vessel.core.checkpoint.ProtoCodec;
import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.LimitationReason;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.AttachedExec;
import dev.vessel.core.spi.ExecutedProcess;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.launcher.process.LaunchHelper;
import dev.vessel.launcher.process.ProcessLauncher;
import dev.vessel.launcher.process.ProcessTaskCheckpoint;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent with real containers on this host, driven through the agent protocol: the test plays the
 * host over an in-memory connection. The rootfs share is a bind mount of a busybox rootfs (no virtio
 * here); this host's cgroups are v1, so the v2 paths the guest uses are the VM tests' to cover.
 */
class GuestAgentTest {
    static final String TAG = "rootfs";
    static final String GATED = "gated";
    static final String DATA_TAG = "vol-data";
    static final String CONF_TAG = "vol-conf";
    static final String DISK_SERIAL = "vessel-disk0";

    @TempDir
    static Path tmp;

    static final String CGROUP_PARENT = "vessel-guest-test-" + UUID.randomUUID().toString().substring(0, 8);
    static final CgroupHierarchies HIERARCHIES = CgroupHierarchies.detect();
    static RuntimePaths paths;
    static Path rootfs;
    static UnifiedContainerizer containerizer;
    static ProcessLauncher launcher;
    static GuestTasks tasks;
    static Path dataShare;
    static Path confShare;
    /** A loop device over an ext4 image, standing in for a virtio disk; listed under a fake /sys/block. */
    static String loopDevice;
    static Path sysBlock;

    TestHost host;
    Thread agent;
    /** Set by a test: the processes its tasks' execs and attaches get instead of the launcher's. */
    volatile TaskStdio fakeStdio;
    /** Mounting the share tagged {@link #GATED} waits until this opens. */
    CountDownLatch gate;

    @BeforeAll
    static void startGuestNode() throws Exception {
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        assertEquals(0, uid, "guest agent tests must run as root (mounts, namespaces, cgroups)");
        assertTrue(HIERARCHIES.forController("memory").isPresent(), "this host mounts no memory cgroup controller");
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        rootfs = BusyboxRootfs.create(tmp.resolve("busybox"));
        LaunchHelper.install(paths.launchHelper()); // where the image places it
        launcher = GuestNode.launcher(paths);
        containerizer = GuestNode.containerizer(paths, launcher, HIERARCHIES, CGROUP_PARENT);
        dataShare = Files.createDirectories(tmp.resolve("shared-data"));
        confShare = Files.createDirectories(tmp.resolve("shared-conf"));
        Files.writeString(confShare.resolve("seed"), "seeded by the host\n");
        Path diskFiles = Files.createDirectories(tmp.resolve("disk-files"));
        Files.writeString(diskFiles.resolve("hello.txt"), "hello from the disk\n");
        Path image = tmp.resolve("disk.img");
        exec("mke2fs", "-q", "-F", "-t", "ext4", "-d", diskFiles.toString(), image.toString(), "8M");
        loopDevice = exec("losetup", "--find", "--show", image.toString()).strip();
        String name = Path.of(loopDevice).getFileName().toString();
        sysBlock = Files.createDirectories(tmp.resolve("sys-block"));
        Files.writeString(Files.createDirectories(sysBlock.resolve(name)).resolve("serial"), DISK_SERIAL + "\n");
    }

    static String exec(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + out);
        return out;
    }

    /** The shares the agent mounted ahead ("tag KIND"), in order. */
    private final List<String> mountedAhead = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startAgent() {
        host = new TestHost();
        HostLink link = new HostLink();
        gate = new CountDownLatch(1);
        HostShare bind = new BindShare(Map.of(TAG, rootfs, GATED, rootfs, DATA_TAG, dataShare, CONF_TAG, confShare));
        mountedAhead.clear();
        HostShare share = new HostShare() {
            @Override
            public void mountAhead(String tag, Kind kind) throws IOException {
                bind.mountAhead(tag, kind);
                mountedAhead.add(tag + " " + kind);
            }

            @Override
            public void mount(String tag, Kind kind, Path target, boolean readOnly) throws IOException {
                if (tag.equals(GATED)) {
                    try {
                        gate.await();
                    } catch (InterruptedException e) {
                        throw new IOException(e);
                    }
                }
                bind.mount(tag, kind, target, readOnly);
            }

            @Override
            public void unmount(Path target) throws IOException {
                bind.unmount(target);
            }
        };
        TaskStdio real = new LauncherStdio(containerizer, launcher);
        TaskStdio stdio = new TaskStdio() { // a test may put its own processes in the launcher's place
            @Override
            public StdioChannel attach(String containerId) throws Exception {
                return (fakeStdio != null ? fakeStdio : real).attach(containerId);
            }

            @Override
            public ExecutedProcess exec(String containerId, String execId, ExecConfig config) throws Exception {
                return (fakeStdio != null ? fakeStdio : real).exec(containerId, execId, config);
            }

            @Override
            public AttachedExec execAttached(String containerId, String execId, ExecConfig config) throws Exception {
                return (fakeStdio != null ? fakeStdio : real).execAttached(containerId, execId, config);
            }
        };
        tasks = new GuestTasks(containerizer, paths, share, new BlockDevices(sysBlock, Path.of("/dev")), link, stdio,
                launcher::startSpareHelper);
        Agent a = new Agent(Uptime.millis(), new Requests(CompletableFuture.completedFuture(tasks)), link);
        agent = Thread.ofVirtual().start(() -> {
            try {
                a.serve(host);
            } catch (Exception e) {
                // the test host closed: the agent's loop ends
            }
        });
    }

    @AfterEach
    void stopAgent() throws Exception {
        gate.countDown();
        tasks.destroyAll();
        host.close();
        agent.join();
        for (String dir : List.of("shares", "volumes")) {
            Path mountPoints = paths.runDir().resolve(dir);
            if (Files.exists(mountPoints)) {
                try (var left = Files.list(mountPoints)) {
                    assertFalse(left.findAny().isPresent(), "a mount point was left behind in " + mountPoints);
                }
            }
        }
        assertFalse(Mounts.mountPoints().stream().anyMatch(p -> p.startsWith(paths.runDir())),
                "a mount was left behind under " + paths.runDir());
    }

    @AfterAll
    static void removeCgroupParent() throws Exception {
        if (loopDevice != null) {
            exec("losetup", "--detach", loopDevice);
        }
        for (CgroupHierarchy h : HIERARCHIES.all()) {
            Files.deleteIfExists(h.mountPoint().resolve(CGROUP_PARENT));
        }
    }

    static HostFrame.Builder launch(String id, String script) {
        return launch(id, script, Resources.getDefaultInstance());
    }

    static HostFrame.Builder launch(String id, String script, Resources resources) {
        return HostFrame.newBuilder().setLaunch(LaunchTask.newBuilder().setContainerId(id).setRootfsTag(TAG)
                .setConfig(ContainerConfig.newBuilder().setIsolation(Isolation.VM)
                        .addCommand("/bin/sh").addArgs("-c").addArgs(script).setResources(resources)));
    }

    static HostFrame.Builder destroy(String id) {
        return HostFrame.newBuilder().setDestroy(DestroyTask.newBuilder().setContainerId(id));
    }

    static void assertError(String field, GuestFrame reply) {
        assertTrue(reply.hasError(), reply.toString());
        assertEquals(field, reply.getError().getField(), reply.toString());
        assertFalse(reply.getError().getMessage().isEmpty(), reply.toString());
    }

    long launched(GuestFrame reply) {
        assertTrue(reply.hasStarted(), reply.toString());
        assertTrue(reply.getStarted().getPid() > 0, reply.toString());
        return reply.getStarted().getPid();
    }

    List<Path> cgroupDirs(String id) {
        return HIERARCHIES.all().stream().map(h -> h.mountPoint().resolve(CGROUP_PARENT).resolve(id))
                .filter(Files::exists).toList();
    }

    // ---------------------------------------------------------------------------------------------

    @Test
    void theAgentSaysHelloFirstAndServesNothingBeforeHelloAck() throws Exception {
        host.connectAgent();
        GuestFrame hello = host.next();
        assertTrue(hello.hasHello(), hello.toString());
        assertEquals(ProtocolVersion.V1, hello.getHello().getVersion());
        assertFalse(hello.getHello().getAgentVersion().isEmpty());
        assertTrue(hello.getHello().getReadyMillis() >= hello.getHello().getAgentStartMillis(), hello.toString());
        // the PCI devices of the machine the agent runs on (here the test's), as discovery reads them
        assertEquals(dev.vessel.core.gpu.GpuDiscovery.host().pciDevices().stream().map(d -> d.address().value()).toList(),
                hello.getHello().getPciDevicesList().stream().map(d -> d.getAddress()).toList());
        assertFalse(hello.getHello().getPciDevicesList().isEmpty(), "this machine has PCI devices");

        GuestFrame early = host.request(HostFrame.newBuilder().setPing(Ping.getDefaultInstance()));
        assertError("hello_ack", early);

        host.send(HostFrame.newBuilder().setHelloAck(HelloAck.getDefaultInstance()));
        GuestFrame pong = host.request(HostFrame.newBuilder().setPing(Ping.getDefaultInstance()));
        assertTrue(pong.hasPong(), pong.toString());
        assertTrue(pong.getPong().getUptimeMillis() > 0, pong.toString());
    }

    @Test
    void aHostThatRefusesTheProtocolEndsTheAgent() throws Exception {
        host.connectAgent();
        assertTrue(host.next().hasHello());
        host.send(HostFrame.newBuilder().setHelloAck(HelloAck.newBuilder().setRefused(true).setMessage("V2 only")));
        agent.join(Duration.ofSeconds(60));
        assertFalse(agent.isAlive(), "the agent still serves a host that refused it");
    }

    @Test
    void aTaskSendsItsOutputThenItsExitCode() throws Exception {
        host.connectAndShakeHands();
        launched(host.request(launch("echo", "echo hi; echo oops >&2; exit 3")));
        StringBuilder stdout = new StringBuilder();
        StringBuilder stderr = new StringBuilder();
        TaskExited exited = host.awaitExit("echo", stdout, stderr);
        assertEquals("hi\n", stdout.toString());
        assertEquals("oops\n", stderr.toString());
        assertEquals(TerminationReason.EXITED, exited.getTermination().getReason(), exited.toString());
        assertEquals(3, exited.getTermination().getExitCode(), exited.toString());

        Path share = new GuestPaths(paths).shareDir("echo");
        assertTrue(Mounts.isMountPoint(share), "the share is mounted until the host destroys the task");
        assertTrue(host.request(destroy("echo")).hasOk());
        assertFalse(Mounts.isMountPoint(share));
        assertFalse(Files.exists(share));
        assertFalse(Files.exists(paths.containerDir(List.of("echo"))), "the container is removed in the guest");
    }

    /**
     * A VM pod's guest: the pod's task (no rootfs: the pause) and its members, each from the share, nested
     * under the pod and in its IPC and UTS namespaces, each the first process of a pid namespace of its own; a member of a
     * pod this guest does not run is refused naming the field.
     */
    @Test
    void aPodsMembersJoinItsPauseInTheGuest() throws Exception {
        host.connectAndShakeHands();
        launched(host.request(HostFrame.newBuilder().setLaunch(LaunchTask.newBuilder().setContainerId("gpod")
                .setConfig(ContainerConfig.newBuilder().setIsolation(Isolation.VM).setPod(true).setHostname("podhost")))));
        assertError("config.parent_id", host.request(member("no-pod", "ghost", "true")));
        List<List<String>> seen = new java.util.ArrayList<>();
        for (String m : List.of("m1", "m2")) {
            launched(host.request(member("gpod", m, "hostname; readlink /proc/self/ns/ipc; echo $$")));
            StringBuilder out = new StringBuilder();
            TaskExited exited = host.awaitExit(m, out, new StringBuilder());
            assertEquals(0, exited.getTermination().getExitCode(), exited + " " + out);
            assertTrue(Files.isDirectory(paths.containerDir(List.of("gpod", m))), "nested under the pod");
            seen.add(out.toString().lines().toList());
        }
        assertEquals("podhost", seen.get(0).get(0), seen.toString());
        assertEquals(seen.get(0).subList(0, 2), seen.get(1).subList(0, 2), "one host name and IPC namespace: " + seen);
        assertEquals(List.of("1", "1"), List.of(seen.get(0).get(2), seen.get(1).get(2)), "a pid namespace each: " + seen);
        for (String id : List.of("m1", "m2", "gpod")) {
            assertTrue(host.request(destroy(id)).hasOk(), id);
        }
        assertFalse(Files.exists(paths.containerDir(List.of("gpod"))), "the pod is removed in the guest");
    }

    static HostFrame.Builder member(String pod, String id, String script) {
        return HostFrame.newBuilder().setLaunch(LaunchTask.newBuilder().setContainerId(id).setRootfsTag(TAG)
                .setConfig(ContainerConfig.newBuilder().setIsolation(Isolation.VM).setParentId(pod)
                        .addCommand("/bin/sh").addArgs("-c").addArgs(script)));
    }

    @Test
    void sigtermReachesTheTasksTrap() throws Exception {
        host.connectAndShakeHands();
        launched(host.request(launch("trap", "trap 'echo term; exit 7' TERM; echo ready; while :; do sleep 0.1; done")));
        host.awaitOutput("trap", "ready\n");
        assertTrue(host.request(HostFrame.newBuilder()
                .setSignal(SignalTask.newBuilder().setContainerId("trap").setSignal(15))).hasOk());
        StringBuilder stdout = new StringBuilder();
        TaskExited exited = host.awaitExit("trap", stdout, new StringBuilder());
        assertEquals(7, exited.getTermination().getExitCode(), exited.toString());
        assertTrue(stdout.toString().contains("term\n"), stdout.toString());
    }

    @Test
    void aTaskPastItsMemoryLimitEndsWithAnOomLimitation() throws Exception {
        host.connectAndShakeHands();
        launched(host.request(launch("hog", "tail /dev/zero", Resources.newBuilder().setMemoryBytes(32L << 20).build())));
        TaskExited exited = host.awaitExit("hog", new StringBuilder(), new StringBuilder());
        assertEquals(TerminationReason.LIMITATION, exited.getTermination().getReason(), exited.toString());
        assertEquals(LimitationReason.OOM, exited.getTermination().getLimitation().getReason(), exited.toString());
    }

    @Test
    void updateAndUsageReachTheTasksCgroupAndDestroyLeavesNothing() throws Exception {
        host.connectAndShakeHands();
        long pid = launched(host.request(launch("sleeper", "echo up; sleep 1000",
                Resources.newBuilder().setMemoryBytes(32L << 20).build())));
        host.awaitOutput("sleeper", "up\n");

        assertTrue(host.request(HostFrame.newBuilder().setUpdate(UpdateResources.newBuilder().setContainerId("sleeper")
                .setResources(Resources.newBuilder().setMemoryBytes(64L << 20)))).hasOk());
        Path memory = HIERARCHIES.forController("memory").orElseThrow().mountPoint()
                .resolve(CGROUP_PARENT).resolve("sleeper");
        String limitFile = HIERARCHIES.forController("memory").get().unified() ? "memory.max" : "memory.limit_in_bytes";
        assertEquals(Long.toString(64L << 20), Files.readString(memory.resolve(limitFile)).trim());
        GuestFrame usage = host.request(HostFrame.newBuilder().setUsage(UsageRequest.newBuilder().setContainerId("sleeper")));
        assertTrue(usage.hasUsage(), usage.toString());
        assertEquals(64L << 20, usage.getUsage().getMemoryLimitBytes(), usage.toString());

        assertTrue(host.request(destroy("sleeper")).hasOk());
        assertEquals(List.of(), cgroupDirs("sleeper"));
        assertFalse(Files.exists(Path.of("/proc", Long.toString(pid))), "the task's process is gone");
        assertFalse(Mounts.isMountPoint(new GuestPaths(paths).shareDir("sleeper")));
        assertError("container_id", host.request(destroy("sleeper")));
    }

    @Test
    void aSlowLaunchHoldsUpNoOtherRequest() throws Exception {
        host.connectAndShakeHands();
        launched(host.request(launch("quick", "echo up; sleep 1000")));
        HostFrame.Builder slow = launch("slow", "exit 4");
        slow.getLaunchBuilder().setRootfsTag(GATED);
        long slowLaunch = host.sendRequest(slow); // its share mount waits for the gate

        assertTrue(host.request(HostFrame.newBuilder().setPing(Ping.getDefaultInstance())).hasPong());
        assertTrue(host.request(destroy("quick")).hasOk(), "a destroy is answered while another launch is under way");
        assertEquals(1, gate.getCount(), "the slow launch was still waiting");

        gate.countDown();
        launched(host.awaitReply(slowLaunch));
        assertEquals(4, host.awaitExit("slow", new StringBuilder(), new StringBuilder()).getTermination().getExitCode());
    }

    @Test
    void badRequestsGetAnErrorNamingTheField() throws Exception {
        host.connectAndShakeHands();
        assertError("container_id", host.request(launch("", "true")));
        assertError("container_id", host.request(launch("../escape", "true")));
        assertError("rootfs_tag", host.request(HostFrame.newBuilder().setLaunch(LaunchTask.newBuilder()
                .setContainerId("untagged").setConfig(ContainerConfig.newBuilder().addCommand("/bin/true")))));
        assertError("config.resources.memory_bytes",
                host.request(launch("tiny", "true", Resources.newBuilder().setMemoryBytes(1).build())));
        assertError("container_id", host.request(HostFrame.newBuilder()
                .setSignal(SignalTask.newBuilder().setContainerId("nobody").setSignal(15))));
        assertError("container_id", host.request(destroy("nobody")));
        assertError("container_id", host.request(destroy("")));
        assertError("container_id", host.request(HostFrame.newBuilder()
                .setUsage(UsageRequest.newBuilder().setContainerId("nobody"))));
        assertError("body", host.request(HostFrame.newBuilder()));
        // a NIC the guest does not have: refused before any network change, named in the request's terms
        HostFrame.Builder noSuchNic = launch("nonic", "true");
        noSuchNic.getLaunchBuilder().addInterfaces(GuestInterface.newBuilder().setMac("02:00:00:ff:ff:01"));
        assertError("interfaces[0].mac", host.request(noSuchNic));
        assertFalse(Files.exists(new GuestPaths(paths).shareDir("nonic")));
        // a refused launch leaves nothing behind: the same id launches fine afterwards
        assertError("config.resources.memory_bytes",
                host.request(launch("again", "true", Resources.newBuilder().setMemoryBytes(1).build())));
        assertFalse(Files.exists(new GuestPaths(paths).shareDir("again")));
        launched(host.request(launch("again", "exit 0")));
        assertEquals(0, host.awaitExit("again", new StringBuilder(), new StringBuilder()).getTermination().getExitCode());
    }

    @Test
    void aWarmUpRunsAThrowawayTaskAndLeavesNothingOfIt() throws Exception {
        host.connectAndShakeHands();
        assertTrue(host.request(HostFrame.newBuilder().setWarmUp(WarmUp.getDefaultInstance())).hasOk());
        assertFalse(containerizer.list().stream().anyMatch(s -> s.getId().equals("vessel-warm-up")),
                "the warm-up's container is left in the guest");
        assertFalse(Files.exists(paths.containerDir(List.of("vessel-warm-up"))));
        assertFalse(Files.exists(paths.runDir().resolve("warm-up-root")), "the warm-up's root is left");
        assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + paths.runDir() + "/"),
                "the warm-up's rehearsed bind mount is left");
        // and a real task runs after it as before
        launched(host.request(launch("after-warm-up", "echo fine")));
        StringBuilder stdout = new StringBuilder();
        assertEquals(0, host.awaitExit("after-warm-up", stdout, new StringBuilder()).getTermination().getExitCode());
        assertEquals("fine\n", stdout.toString());
    }

    @Test
    void aWarmUpMountsTheSharesItNamesAheadOfTheTaskAndNamesOneItCannot() throws Exception {
        host.connectAndShakeHands();
        assertTrue(host.request(HostFrame.newBuilder().setWarmUp(WarmUp.newBuilder().addShareTags(TAG)
                .addShareTags(DATA_TAG))).hasOk());
        assertEquals(List.of(TAG + " NINE_P", DATA_TAG + " NINE_P"), mountedAhead);
        assertError("share_tags[1]", host.request(HostFrame.newBuilder().setWarmUp(WarmUp.newBuilder()
                .addShareTags(TAG).addShareTags("no-such-share"))));
        // the task's own mount of a share mounted ahead
        launched(host.request(launch("after-mount-ahead", "echo fine")));
        StringBuilder stdout = new StringBuilder();
        assertEquals(0, host.awaitExit("after-mount-ahead", stdout, new StringBuilder()).getTermination().getExitCode());
        assertEquals("fine\n", stdout.toString());
    }

    @Test
    void aWarmUpLeavesALaunchHelperStartedWhichTheTaskTakes() throws Exception {
        host.connectAndShakeHands();
        assertTrue(host.request(HostFrame.newBuilder().setWarmUp(WarmUp.getDefaultInstance())).hasOk());
        List<Long> ready = helpers();

        launched(host.request(launch("takes-the-spare", "echo up; sleep 1000")));
        host.awaitOutput("takes-the-spare", "up\n");
        long monitor = containerizer.launcherContext("takes-the-spare").checkpoint()
                .load(ProtoCodec.of(1, ProcessTaskCheckpoint.parser())).orElseThrow().getHelperPid();
        assertTrue(ready.contains(monitor), "the task's monitor " + monitor + " was not started by the warm-up: " + ready);
        assertTrue(ready.containsAll(helpers()), "a helper was started behind the launch: " + helpers() + " after " + ready);
        assertTrue(host.request(destroy("takes-the-spare")).hasOk());
    }

    /** The launch helpers running from the guest's helper file: a task's monitor, or one waiting for its plan. */
    private static List<Long> helpers() throws IOException {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                    .filter(p -> {
                        try {
                            return Files.readSymbolicLink(p.resolve("exe")).equals(paths.launchHelper());
                        } catch (IOException e) {
                            return false; // gone meanwhile, or a kernel thread
                        }
                    })
                    .map(p -> Long.parseLong(p.getFileName().toString())).sorted().toList();
        }
    }

    @Test
    void aRootfsPathOutsideTheShareOrMissingInItIsRefused() throws Exception {
        host.connectAndShakeHands();
        HostFrame.Builder escape = launch("escape", "true");
        escape.getLaunchBuilder().setRootfsPath("../..");
        assertError("rootfs_path", host.request(escape));
        HostFrame.Builder missing = launch("missing", "true");
        missing.getLaunchBuilder().setRootfsPath("no-such-dir");
        assertError("rootfs_path", host.request(missing));
        assertFalse(Files.exists(new GuestPaths(paths).shareDir("missing")), "the share stays mounted after a refusal");
    }

    @Test
    void aReadOnlyShareCannotBeWritten() throws Exception {
        host.connectAndShakeHands();
        HostFrame.Builder request = launch("ro", "echo x > /tmp/written-by-ro");
        request.getLaunchBuilder().setRootfsReadOnly(true);
        launched(host.request(request));
        StringBuilder stderr = new StringBuilder();
        TaskExited exited = host.awaitExit("ro", new StringBuilder(), stderr);
        assertEquals(1, exited.getTermination().getExitCode(), exited.toString());
        assertTrue(stderr.toString().contains("Read-only file system"), stderr.toString());
        assertFalse(Files.exists(rootfs.resolve("tmp/written-by-ro")));
    }

    /** The host's config reaches the guest's chain: its read-only rootfs and tmpfs options are the guest's to honour. */
    @Test
    void aReadOnlyRootfsAndTmpfsOptionsAreHonouredInTheGuest() throws Exception {
        host.connectAndShakeHands();
        HostFrame.Builder request = launch("ro-root", String.join("; ",
                "true >> /written-in-guest || echo root is read-only",
                "for d in /run /tmp /var/tmp; do echo x > $d/f && echo $d writable; done",
                "awk '$5 == \"/scratch\" { print $6 }' /proc/self/mountinfo",
                "stat -c %a /scratch"));
        request.getLaunchBuilder().getConfigBuilder().setReadOnlyRootfs(true);
        request.getLaunchBuilder().addMounts(GuestMount.newBuilder().setTarget("/scratch")
                .setTmpfs(TmpfsVolume.newBuilder().setMode(0700).setNoexec(true)));
        launched(host.request(request));
        StringBuilder stdout = new StringBuilder();
        StringBuilder stderr = new StringBuilder();
        TaskExited exited = host.awaitExit("ro-root", stdout, stderr);
        assertEquals(0, exited.getTermination().getExitCode(), exited + "\n" + stdout + stderr);
        assertEquals("root is read-only\n/run writable\n/tmp writable\n/var/tmp writable\n"
                + "rw,nosuid,nodev,noexec,relatime\n700\n", stdout.toString(), stderr.toString());
        assertFalse(Files.exists(rootfs.resolve("written-in-guest")));
        assertTrue(host.request(destroy("ro-root")).hasOk());
    }

    static GuestMount.Builder share(String target, String tag, boolean readOnly) {
        return GuestMount.newBuilder().setTarget(target).setShareTag(tag).setReadOnly(readOnly);
    }

    @Test
    void sharesDisksAndTmpfsBecomeTheTasksVolumesAndReadOnlyOnesStaySo() throws Exception {
        host.connectAndShakeHands();
        HostFrame.Builder request = launch("volumes", String.join("; ",
                "echo from the task > /data/out",
                "cat /conf/seed",
                "echo x > /conf/new && echo conf is writable",
                "cat /disk/hello.txt",
                "echo y > /disk/new && echo disk is writable",
                "echo t > /scratch/t && grep -q ' /scratch tmpfs ' /proc/mounts && echo scratch is a tmpfs",
                "grep -q ' /conf .*ro,' /proc/mounts && echo conf is mounted read-only"));
        request.getLaunchBuilder()
                .addMounts(share("/data", DATA_TAG, false))
                .addMounts(share("/conf", CONF_TAG, true))
                .addMounts(GuestMount.newBuilder().setTarget("/disk").setReadOnly(true)
                        .setDisk(GuestDisk.newBuilder().setSerial(DISK_SERIAL).setFsType("ext4")))
                .addMounts(GuestMount.newBuilder().setTarget("/scratch")
                        .setTmpfs(TmpfsVolume.newBuilder().setSizeBytes(1 << 20)));
        launched(host.request(request));
        StringBuilder stdout = new StringBuilder();
        StringBuilder stderr = new StringBuilder();
        TaskExited exited = host.awaitExit("volumes", stdout, stderr);
        assertEquals(0, exited.getTermination().getExitCode(), exited + "\n" + stdout + stderr);

        assertEquals("from the task\n", Files.readString(dataShare.resolve("out")), "the task wrote into the share");
        assertEquals("seeded by the host\nhello from the disk\nscratch is a tmpfs\nconf is mounted read-only\n",
                stdout.toString(), stderr.toString());
        assertTrue(stderr.toString().contains("Read-only file system"), stderr.toString());
        assertFalse(Files.exists(confShare.resolve("new")), "a read-only share was written");

        Path volumes = new GuestPaths(paths).volumesDir("volumes");
        assertTrue(Mounts.isMountPoint(volumes.resolve("0")), "the share is mounted until the task is destroyed");
        assertTrue(Mounts.isMountPoint(volumes.resolve("2")), "the disk is mounted until the task is destroyed");
        assertTrue(host.request(destroy("volumes")).hasOk());
        assertFalse(Files.exists(volumes), "the volumes' mount points are removed");
        assertTrue(Files.exists(dataShare.resolve("out")), "the share's files stay on the host");
    }

    @Test
    void aVolumeThatCannotBeMountedFailsTheLaunchNamingItAndLeavesNothing() throws Exception {
        host.connectAndShakeHands();
        HostFrame.Builder unknownDisk = launch("nodisk", "true");
        unknownDisk.getLaunchBuilder().addMounts(share("/data", DATA_TAG, false)).addMounts(GuestMount.newBuilder()
                .setTarget("/disk").setDisk(GuestDisk.newBuilder().setSerial("vessel-disk9").setFsType("ext4")));
        assertError("mounts[1].disk.serial", host.request(unknownDisk));
        HostFrame.Builder unknownShare = launch("noshare", "true");
        unknownShare.getLaunchBuilder().addMounts(share("/data", "vol-nope", false));
        assertError("mounts[0].share_tag", host.request(unknownShare));
        HostFrame.Builder relative = launch("relative", "true");
        relative.getLaunchBuilder().addMounts(share("data", DATA_TAG, false));
        assertError("mounts[0].target", host.request(relative));
        for (String id : List.of("nodisk", "noshare", "relative")) {
            assertFalse(Files.exists(new GuestPaths(paths).volumesDir(id)), id);
            assertFalse(Files.exists(new GuestPaths(paths).shareDir(id)), id);
        }
    }

    @Test
    void theTaskSharesTheGuestsNetworkNamespace() throws Exception {
        host.connectAndShakeHands();
        // the host's config names its CNI network; in the guest, the guest's namespace holds that NIC
        HostFrame.Builder request = launch("guest-net", "readlink /proc/self/ns/net");
        request.getLaunchBuilder().getConfigBuilder().addNetworks(NetworkAttachment.newBuilder().setNetwork("net1"));
        launched(host.request(request));
        StringBuilder stdout = new StringBuilder();
        assertEquals(0, host.awaitExit("guest-net", stdout, new StringBuilder()).getTermination().getExitCode());
        assertEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")) + "\n", stdout.toString());
        assertTrue(host.request(destroy("guest-net")).hasOk());
    }

    @Test
    void theHostsImageAndVmPartsAreLeftToTheHost() throws Exception {
        host.connectAndShakeHands();
        HostFrame.Builder request = launch("hosted", "echo ran");
        request.getLaunchBuilder().getConfigBuilder()
                .setImage(ImageReference.newBuilder().setRepository("busybox").setTag("latest"));
        launched(host.request(request));
        StringBuilder stdout = new StringBuilder();
        assertEquals(0, host.awaitExit("hosted", stdout, new StringBuilder()).getTermination().getExitCode());
        assertEquals("ran\n", stdout.toString());
    }

    @Test
    void execsAreRunNamedByTheHostAndTheirEndsComeBeforeTheTasksAndAgainAfterAReconnection() throws Exception {
        Map<String, CompletableFuture<Integer>> ends = new java.util.concurrent.ConcurrentHashMap<>();
        List<Integer> signals = new java.util.concurrent.CopyOnWriteArrayList<>();
        fakeStdio = new TaskStdio() {
            @Override
            public StdioChannel attach(String containerId) {
                throw new UnsupportedOperationException();
            }

            @Override
            public ExecutedProcess exec(String containerId, String execId, ExecConfig config) {
                CompletableFuture<Integer> end = new CompletableFuture<>();
                ends.put(execId, end);
                containerizer.wait(containerId).thenRun(() -> end.complete(137)); // dies with its task
                return new ExecutedProcess() {
                    public long pid() {
                        return 4242;
                    }

                    public CompletableFuture<Integer> exit() {
                        return end;
                    }

                    public StdioChannel attach() {
                        throw new UnsupportedOperationException();
                    }

                    public void signal(int signal) {
                        signals.add(signal);
                    }
                };
            }
        };
        host.connectAndShakeHands();
        launched(host.request(launch("ex", "sleep 1000")));
        ExecConfig cmd = ExecConfig.newBuilder().addCommand("/bin/true").build();
        assertTrue(host.request(exec("ex", "e1", cmd, false)).hasOk());
        assertError("exec_id", host.request(exec("ex", "e1", cmd, false))); // the host's ids are unique
        assertError("exec_id", host.request(exec("ex", "bad/id", cmd, false)));
        assertTrue(host.request(exec("ex", "e1", cmd, true)).hasOk(), "a restarted host finds it");
        assertError("exec_id", host.request(exec("ex", "e9", cmd, true)));
        assertError("container_id", host.request(exec("ghost", "e2", cmd, false)));
        assertError("exec_id", host.request(HostFrame.newBuilder().setOpenStream(OpenStream.newBuilder()
                .setStreamId(1).setContainerId("ex").setExecId("e9"))));
        assertTrue(host.request(HostFrame.newBuilder().setSignal(SignalTask.newBuilder().setContainerId("ex")
                .setExecId("e1").setSignal(2))).hasOk());
        assertEquals(List.of(2), signals);

        ends.get("e1").complete(7);
        ExecExited first = awaitExecExit("e1");
        assertEquals(7, first.getStatus());
        assertEquals("ex", first.getContainerId());

        host.disconnect();
        host.connectAndShakeHands();
        assertEquals(7, awaitExecExit("e1").getStatus(), "re-sent to the new connection");

        assertTrue(host.request(exec("ex", "e2", cmd, false)).hasOk());
        assertTrue(host.request(HostFrame.newBuilder().setSignal(SignalTask.newBuilder().setContainerId("ex")
                .setSignal(9))).hasOk());
        while (true) { // e2 went with its task: its end comes before the task's
            GuestFrame f = host.next();
            assertFalse(f.hasExited(), "the task's exit came before its exec's end");
            if (f.hasExecExited() && f.getExecExited().getExecId().equals("e2")) {
                assertEquals(137, f.getExecExited().getStatus());
                break;
            }
        }
        assertTrue(host.awaitExit("ex", new StringBuilder(), new StringBuilder()).getTermination().hasSignal());
    }

    /** A task launched with a stream (stream_id) is attached before it starts: what it prints at once comes on it. */
    @Test
    void aTaskLaunchedWithAStreamMissesNothingItPrints() throws Exception {
        host.connectAndShakeHands();
        HostFrame.Builder launch = launch("early", "echo first; exit 4");
        launch.getLaunchBuilder().setStreamId(3);
        launched(host.request(launch));
        StringBuilder out = new StringBuilder();
        assertEquals(4, readStream(3, out));
        assertEquals("first\n", out.toString());
    }

    /** The STDOUT frames of stream {@code id} until its EXIT, whose status it returns. */
    private int readStream(long id, StringBuilder out) throws Exception {
        while (true) {
            GuestFrame f = host.next();
            if (f.hasStdio()) {
                assertEquals(id, f.getStdio().getStreamId());
                StdioFrame frame = AgentStreams.decode(f.getStdio().getFrame());
                if (frame.type() == StdioFrame.Type.EXIT) {
                    return frame.exitStatus();
                }
                assertEquals(StdioFrame.Type.STDOUT, frame.type(), frame::toString);
                out.append(new String(frame.payload(), StandardCharsets.UTF_8));
            }
        }
    }

    /**
     * An exec started with a stream (stream_id) is attached before it runs: all a quick process prints comes on
     * that stream after the ok, then its EXIT; a stream id in use is refused naming stream_id, nothing started.
     */
    @Test
    void anExecStartedWithAStreamMissesNothingItPrints() throws Exception {
        host.connectAndShakeHands();
        launched(host.request(launch("att", "sleep 1000")));
        ExecConfig quick = ExecConfig.newBuilder().addAllCommand(List.of("/bin/sh", "-c", "echo quick; exit 6")).build();
        HostFrame.Builder attached = exec("att", "q1", quick, false);
        attached.getExecBuilder().setStreamId(5);
        assertTrue(host.request(attached).hasOk());
        StringBuilder out = new StringBuilder();
        assertEquals(6, readStream(5, out));
        assertEquals("quick\n", out.toString());

        assertTrue(host.request(HostFrame.newBuilder().setOpenStream(OpenStream.newBuilder().setStreamId(7)
                .setContainerId("att"))).hasOk());
        HostFrame.Builder taken = exec("att", "q2", quick, false);
        taken.getExecBuilder().setStreamId(7);
        assertError("stream_id", host.request(taken));
        assertError("exec_id", host.request(exec("att", "q2", quick, true))); // nothing was started
    }

    static HostFrame.Builder exec(String containerId, String execId, ExecConfig config, boolean recover) {
        return HostFrame.newBuilder().setExec(StartExec.newBuilder().setContainerId(containerId).setExecId(execId)
                .setConfig(config).setRecover(recover));
    }

    ExecExited awaitExecExit(String execId) throws Exception {
        while (true) {
            GuestFrame f = host.next();
            if (f.hasExecExited() && f.getExecExited().getExecId().equals(execId)) {
                return f.getExecExited();
            }
        }
    }

    @Test
    void afterAReconnectionTheHostGetsTheExitAndTheOutputItMissed() throws Exception {
        host.connectAndShakeHands();
        Path go = rootfs.resolve("tmp/go-reconnect");
        Files.deleteIfExists(go);
        launched(host.request(launch("reconnect",
                "echo before; while [ ! -e /tmp/go-reconnect ]; do sleep 0.05; done; echo after; exit 5")));
        host.awaitOutput("reconnect", "before\n");

        host.disconnect();
        Files.createFile(go);
        containerizer.wait("reconnect").get(60, TimeUnit.SECONDS); // it ended while the host was away

        GuestFrame hello = host.connectAndShakeHands();
        assertTrue(hello.hasHello(), "a new connection starts with a new hello: " + hello);
        StringBuilder stdout = new StringBuilder();
        TaskExited exited = host.awaitExit("reconnect", stdout, new StringBuilder());
        assertEquals(5, exited.getTermination().getExitCode(), exited.toString());
        assertEquals("after\n", stdout.toString(), "only the output the last connection did not carry");

        // until the host destroys it, every new connection hears of the ended task again
        host.disconnect();
        host.connectAndShakeHands();
        StringBuilder again = new StringBuilder();
        assertEquals(5, host.awaitExit("reconnect", again, new StringBuilder()).getTermination().getExitCode());
        assertEquals("", again.toString(), "output already carried is not sent twice");
        assertTrue(host.request(destroy("reconnect")).hasOk());
        Files.delete(go);
    }

    @Test
    void aFrameOverTheCapOrNotAHostFrameEndsTheConnectionAndTheAgentConnectsAgain() throws Exception {
        host.connectAndShakeHands();
        // 1 GiB announced and nothing more: the agent does not wait for the body.
        host.sendRaw(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x04});
        GuestFrame hello = host.connectAndShakeHands();
        assertTrue(hello.hasHello(), "the agent starts over on a new connection: " + hello);

        host.sendRaw(new byte[] {4, 0x0f, (byte) 0xff, (byte) 0xff, (byte) 0xff}); // field 1 of wire type 7
        hello = host.connectAndShakeHands();
        assertTrue(hello.hasHello(), "the agent starts over on a new connection: " + hello);
        assertTrue(host.request(HostFrame.newBuilder().setPing(Ping.getDefaultInstance())).hasPong());
    }
}
