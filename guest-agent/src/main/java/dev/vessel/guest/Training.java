package dev.vessel.guest;

import dev.vessel.core.agent.DestroyTask;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.HelloAck;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.LaunchTask;
import dev.vessel.core.agent.Ok;
import dev.vessel.core.agent.Ping;
import dev.vessel.core.agent.ProtocolVersion;
import dev.vessel.core.agent.SignalTask;
import dev.vessel.core.agent.TaskStarted;
import dev.vessel.core.agent.UpdateResources;
import dev.vessel.core.agent.UsageRequest;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.Trees;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import dev.vessel.launcher.process.LaunchHelper;
import dev.vessel.launcher.process.LogReader;
import dev.vessel.launcher.process.ProcessLauncher;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.Mounts;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * {@code --train}: the image build runs the agent this way under {@code -XX:AOTCacheOutput} (as root, in a
 * chroot of the initramfs tree, with no port and no cgroups) to record which classes a start and a first
 * task load and which lambdas and method-handle forms they spin. It goes through the real start path as far
 * as that is possible without touching the system: the guest node over a temporary directory and a cgroup2
 * hierarchy that is a plain directory, the port lookup in a sysfs look-alike, the agent's session over an
 * in-memory connection, the handshake, every kind of request (answered with the errors a host gets for bad
 * requests), a task's output and exit as events, the launch helper asked for its version, and a warm guest's
 * warm-up task run through it for real. It checks what it sees, so a broken agent fails the image build.
 */
final class Training {
    private static final String TASK = "train";
    /**
     * Classes a guest's first task loads that training's paths do not reach (its share is not the guest's tagged
     * 9p one; nothing in it waits on a lock's condition): loaded here, so that the AOT cache holds them parsed and
     * verified. Found with {@code -Xlog:class+load} in a guest's first task; a name gone stale fails training, and
     * with it the image's build.
     */
    static final List<String> NOT_REACHED = List.of(
            "dev.vessel.guest.TaggedShares",
            "java.util.concurrent.locks.AbstractQueuedSynchronizer$ConditionNode");

    private Training() {
    }

    static void run(long startMillis) throws Exception {
        Path dir = Files.createTempDirectory("vt"); // short: the warm-up's run dir under it holds sockets
        try {
            RuntimePaths paths = new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
            HostLink link = new HostLink();
            CompletableFuture<GuestTasks> node = new CompletableFuture<>();
            try {
                Path cgroupRoot = Files.createDirectories(dir.resolve("cgroup"));
                Path helper = Files.createFile(dir.resolve("vessel-launch"),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
                ProcessLauncher processes = new ProcessLauncher(paths, helper);
                Files.delete(helper); // the launcher checked it is there; spawning it fails
                Launcher launcher = new PlainCgroups(processes, cgroupRoot.resolve(GuestNode.CGROUP_PARENT));
                node.complete(new GuestTasks(GuestNode.containerizer(paths, launcher, cgroupHierarchy(cgroupRoot, dir),
                        GuestNode.CGROUP_PARENT), launcher, paths, new UnmountedShare(), link,
                        () -> { })); // its launcher spawns nothing
            } catch (RuntimeException e) {
                // e.g. no /proc/meminfo in the build's chroot: train the rest, the node's classes are mostly loaded
                System.err.println("training without a guest node: " + e.getMessage());
                node.completeExceptionally(e);
            }
            Path ports = Files.createDirectories(dir.resolve("virtio-ports").resolve("vport0p1"));
            Files.writeString(ports.resolve("name"), VirtioPort.PORT_NAME + "\n");
            check(VirtioPort.lookup(ports.getParent(), VirtioPort.PORT_NAME).isPresent(), "no port found by name");
            MemoryPipe.Link connection = MemoryPipe.link();
            Thread agent = Thread.ofVirtual().start(() -> {
                try {
                    new Agent(startMillis, new Requests(node), link).serve(new OneConnection(connection.guest()));
                } catch (IOException e) {
                    // the one connection ended: training is over
                }
            });
            boolean withNode = !node.isCompletedExceptionally();
            playHost(connection.host(), paths, withNode, link);
            connection.host().close();
            agent.join();
            roundTripRepliesTheHostSeesRarely();
            if (withNode) {
                runLaunchHelper(paths, dir.resolve("helper.log"));
                warmUp(Files.createDirectories(dir.resolve("w")), link);
            }
            bindThroughMountCommand(Files.createDirectories(dir.resolve("bound")));
            for (String name : NOT_REACHED) {
                Class.forName(name, false, Training.class.getClassLoader());
            }
        } finally {
            Trees.delete(dir);
        }
    }

    /**
     * A guest's warm-up, run for real: the same throwaway task a warm guest runs before its first one (see
     * {@link GuestTasks#warmUp}), through a guest node over {@code dir} whose launcher runs the real launch
     * helper (namespaces, a rootfs of busybox, seccomp) — so that what a task's launch does only once it has a
     * process (the helper's replies, the monitor, the exit, the events, the cleanup), and the lambdas and
     * method-handle forms each of those spins at its first use, are in the AOT cache too, not each costing a
     * cold guest's first task milliseconds of interpretation under TCG. The cgroups stay plain directories.
     */
    private static void warmUp(Path dir, HostLink link) throws Exception {
        RuntimePaths paths = new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
        Path cgroupRoot = Files.createDirectories(dir.resolve("cgroup"));
        try (ProcessLauncher processes = new ProcessLauncher(paths, LaunchHelper.install(paths.launchHelper()))) {
            Launcher launcher = new PlainCgroups(processes, cgroupRoot.resolve(GuestNode.CGROUP_PARENT));
            GuestTasks tasks = new GuestTasks(GuestNode.containerizer(paths, launcher, cgroupHierarchy(cgroupRoot, dir),
                    GuestNode.CGROUP_PARENT), launcher, paths, new UnmountedShare(), link, processes::startSpareHelper);
            tasks.warmUp(List.of());
        }
    }

    /**
     * A cold guest's first task mounts its share through mount(8) ({@link GuestMounts}; training's share mounts
     * nothing): that path run once, the tool runner's lambda included, onto {@code dir} itself and back.
     */
    private static void bindThroughMountCommand(Path dir) throws IOException {
        GuestMounts.bind(dir, dir, false, false);
        Mounts.unmount(dir, 0);
    }

    /** A mountinfo (in {@code dir}) naming a cgroup2 hierarchy at {@code root}, with the controllers a guest has. */
    private static CgroupHierarchies cgroupHierarchy(Path root, Path dir) throws IOException {
        Files.writeString(root.resolve("cgroup.controllers"), "cpu memory pids\n");
        Path mountinfo = Files.writeString(dir.resolve("mountinfo"),
                "30 1 0:26 / " + root + " rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n");
        return CgroupHierarchies.detect(mountinfo);
    }

    /** The host's side: every kind of request, the replies and events read back. */
    private static void playHost(Transport.Connection host, RuntimePaths paths, boolean withNode, HostLink link)
            throws Exception {
        InputStream in = host.in();
        OutputStream out = host.out();
        check(expect(in).getHello().getVersion() == ProtocolVersion.V1, "the agent's first frame is no V1 hello");
        send(out, HostFrame.newBuilder().setRequestId(1).setPing(Ping.getDefaultInstance()));
        check(expect(in).hasError(), "a request before hello_ack was served");
        send(out, HostFrame.newBuilder().setHelloAck(HelloAck.getDefaultInstance()));
        // Valid, so it goes through the isolators' prepare (the cgroups are plain files here) and the
        // launcher's plan up to the spawn of the launch helper, which is not there (see PlainCgroups).
        ContainerConfig valid = ContainerConfig.newBuilder().addCommand("/bin/true")
                .setImage(ImageReference.newBuilder().setRepository("train")) // as a VM task's config names one
                .setResources(Resources.newBuilder().setMemoryBytes(32L << 20).setCpus(0.5).setPids(64)).build();
        ContainerConfig tooSmall = ContainerConfig.newBuilder().addCommand("/bin/true")
                .setResources(Resources.newBuilder().setMemoryBytes(1)).build();
        List<HostFrame.Builder> requests = List.of(
                HostFrame.newBuilder().setPing(Ping.getDefaultInstance()),
                HostFrame.newBuilder().setLaunch(LaunchTask.newBuilder().setContainerId(TASK)
                        .setRootfsTag("rootfs").setConfig(valid)),
                // its own id: requests are answered concurrently, and the valid launch's id may be taken
                HostFrame.newBuilder().setLaunch(LaunchTask.newBuilder().setContainerId(TASK + "-too-small")
                        .setRootfsTag("rootfs").setConfig(tooSmall)),
                HostFrame.newBuilder().setLaunch(LaunchTask.newBuilder().setRootfsTag("rootfs")),
                HostFrame.newBuilder().setSignal(SignalTask.newBuilder().setContainerId("none").setSignal(15)),
                HostFrame.newBuilder().setUpdate(UpdateResources.newBuilder().setContainerId("none")),
                HostFrame.newBuilder().setUsage(UsageRequest.newBuilder().setContainerId("none")),
                HostFrame.newBuilder().setDestroy(DestroyTask.newBuilder().setContainerId("none")),
                HostFrame.newBuilder());
        Set<Long> pending = new HashSet<>();
        for (int i = 0; i < requests.size(); i++) {
            long id = i + 2;
            pending.add(id);
            send(out, requests.get(i).setRequestId(id));
        }
        while (!pending.isEmpty()) {
            GuestFrame reply = expect(in);
            check(pending.remove(reply.getRequestId()), "a reply to no request: " + reply);
            check(reply.hasPong() || reply.hasError(), "a bad request was not refused: " + reply);
            check(reply.getRequestId() != 3 || !withNode || reply.getError().getMessage().contains(PlainCgroups.NOT_SPAWNED),
                    "the launch failed elsewhere than at the spawn of its helper: " + reply);
        }
        if (withNode) {
            // a running task's events: output from its logs, the end of an exec into it, then its exit. Running
            // when they start, as a task is (the forwarder's wait for news of one: whether an exec ended, which
            // the warm-up task, ended before its forwarder looks, may not reach).
            Path containerDir = Files.createDirectories(paths.containerDir(List.of(TASK)));
            Files.writeString(paths.stdoutLog(containerDir), "out\n");
            Files.writeString(paths.stderrLog(containerDir), "err\n");
            CompletableFuture<Termination> exit = new CompletableFuture<>();
            TaskEvents events = TaskEvents.start(TASK, containerDir, new LogReader(paths), exit, link);
            check(expect(in).hasOutput() && expect(in).hasOutput(), "the task's output did not come first");
            events.addExec("exec", CompletableFuture.completedFuture(0));
            check(expect(in).hasExecExited(), "the end of the task's exec did not come next");
            exit.complete(Termination.newBuilder().setReason(TerminationReason.EXITED).setExitCode(0).build());
            check(expect(in).hasExited(), "the task's exit did not come last");
            events.stop();
        }
    }

    /** The replies no bad request gets, written and parsed as the session does it. */
    private static void roundTripRepliesTheHostSeesRarely() throws IOException {
        MemoryPipe pipe = new MemoryPipe();
        FrameWriter writer = new FrameWriter(pipe.out());
        List<GuestFrame> frames = List.of(
                GuestFrame.newBuilder().setRequestId(1).setStarted(TaskStarted.newBuilder().setPid(2)).build(),
                GuestFrame.newBuilder().setRequestId(2).setOk(Ok.getDefaultInstance()).build(),
                GuestFrame.newBuilder().setRequestId(3).setUsage(ResourceStatistics.newBuilder()
                        .setCpuUserSeconds(1).setMemoryUsageBytes(1)).build(),
                GuestFrame.newBuilder().setLimitation(Limitation.newBuilder().setMessage("oom")).build());
        for (GuestFrame frame : frames) {
            writer.send(frame);
        }
        pipe.close();
        while (GuestFrame.parseDelimitedFrom(pipe.in()) != null) {
            // parsed: that is all training needs
        }
    }

    /** Training doubles as a smoke test of the image's agent: a misbehaving agent fails the build. */
    private static void check(boolean condition, String problem) {
        if (!condition) {
            throw new IllegalStateException("guest agent training: " + problem);
        }
    }

    private static void send(OutputStream out, HostFrame.Builder frame) throws IOException {
        frame.build().writeDelimitedTo(out);
        out.flush();
    }

    private static GuestFrame expect(InputStream in) throws IOException {
        GuestFrame frame = GuestFrame.parseDelimitedFrom(in);
        if (frame == null) {
            throw new EOFException("the agent closed the training connection");
        }
        return frame;
    }

    /**
     * The launch helper, run as the process launcher runs it, asked only for its version; its stderr
     * goes to {@code log}, in training's scratch directory rather than the node's layout.
     */
    private static void runLaunchHelper(RuntimePaths paths, Path log) throws IOException, InterruptedException {
        Path helper = LaunchHelper.install(paths.launchHelper());
        Process p = new ProcessBuilder(helper.toString(), "--version")
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        p.getOutputStream().close();
        String reply = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        check(p.waitFor() == 0 && reply.startsWith("vessel-launch"), "the launch helper does not run: " + reply);
    }

    /**
     * The process launcher, its task's cgroups left out of what its helper is given: training's are plain
     * directories, which the helper refuses (not on a cgroup filesystem). When the task has ended the files in
     * them are removed, so that the cgroups isolator's cleanup runs as in a guest — finds no process left, and
     * removes the directories — rather than waiting on a {@code cgroup.procs} that no kernel empties and failing
     * to rmdir a directory that holds plain files. A fork that fails (training's first pass removes the helper's
     * file after the launcher checked it) removes them whole, and says it failed at the helper's spawn.
     */
    private static final class PlainCgroups implements Launcher {
        static final String NOT_SPAWNED = "training's launch helper did not start";

        private final ProcessLauncher launcher;
        private final Path cgroups;

        PlainCgroups(ProcessLauncher launcher, Path cgroups) {
            this.launcher = launcher;
            this.cgroups = cgroups;
        }

        @Override
        public String name() {
            return launcher.name();
        }

        @Override
        public Isolation isolation() {
            return launcher.isolation();
        }

        @Override
        public LaunchedTask fork(LaunchPlan plan) throws Exception {
            LaunchedTask task;
            try {
                task = launcher.fork(new LaunchPlan(plan.container(), plan.launchInfo().toBuilder().clearCgroups()
                        .build()));
            } catch (IOException e) {
                Trees.delete(cgroups);
                throw new IOException(NOT_SPAWNED, e);
            }
            CompletableFuture<Termination> exit = task.exit().thenApply(end -> {
                removeFiles(cgroups);
                return end;
            });
            return new LaunchedTask() {
                @Override
                public long pid() {
                    return task.pid();
                }

                @Override
                public void release() throws Exception {
                    task.release();
                }

                @Override
                public CompletableFuture<Termination> exit() {
                    return exit;
                }

                @Override
                public void signal(int signal) throws Exception {
                    task.signal(signal);
                }

                @Override
                public void destroy() throws Exception {
                    task.destroy();
                }
            };
        }

        @Override
        public Optional<LaunchedTask> recover(ContainerContext container) {
            return Optional.empty();
        }

        /** The files under {@code top}, not its directories: an ended task's cgroups as rmdir sees them. */
        private static void removeFiles(Path top) {
            try (Stream<Path> all = Files.walk(top)) {
                for (Path file : all.filter(Files::isRegularFile).toList()) {
                    Files.delete(file);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A share that is the mount point itself: training mounts nothing. */
    private static final class UnmountedShare implements HostShare {
        @Override
        public void mountAhead(String tag, Kind kind) {
        }

        @Override
        public void mount(String tag, Kind kind, Path target, boolean readOnly) {
        }

        /** umount2(2) on a directory that is no mount point: refused, but the call is made as for a share. */
        @Override
        public void unmount(Path target) {
            try {
                Mounts.unmount(target, 0);
            } catch (ErrnoException e) {
                // EINVAL (nothing mounted there) or EPERM (not root): either way nothing changed
            }
        }
    }

    /** The training connection, once; asking for another ends the agent's serve loop. */
    private static final class OneConnection implements Transport {
        private Connection connection;

        OneConnection(Connection connection) {
            this.connection = connection;
        }

        @Override
        public synchronized Connection connect() throws IOException {
            if (connection == null) {
                throw new EOFException("training is over");
            }
            Connection once = connection;
            connection = null;
            return once;
        }
    }
}
