package dev.vessel.vmtests;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.linux.PosixAcls;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.ImageSource;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.fetcher.ArtifactCache;
import dev.vessel.fetcher.Fetchers;
import dev.vessel.isolators.filesystem.LinuxFilesystemIsolator;
import dev.vessel.isolators.vm.VmResourcesIsolator;
import dev.vessel.isolators.vm.VmRootfsIsolator;
import dev.vessel.isolators.volume.DockerVolumeIsolator;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.launcher.vm.GuestArtifacts;
import dev.vessel.launcher.vm.VmLauncher;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.provisioner.ImageProvisioner;
import dev.vessel.provisioner.registry.CredentialsProvider;
import dev.vessel.provisioner.registry.RegistryTransport;
import dev.vessel.provisioner.rootfs.RootfsBackends;
import dev.vessel.provisioner.store.BlobHolder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A node that runs VM tasks only, wired like the daemon wires it: the VM launcher with the guest
 * artifacts the images module built, the host-side VM isolators and the volume isolators (which
 * resolve a VM task's volumes on the host), the image provisioner. A second
 * instance over the same directories is a restarted daemon.
 */
final class VmNode implements AutoCloseable {
    /** The directory the node keeps its state in, which a test may also use for its own files. */
    final Path dir;
    final RuntimePaths paths;
    final VmLauncher launcher;
    final UnifiedContainerizer containerizer;

    VmNode(Path dir) throws IOException {
        this(dir, List.of());
    }

    /** A node with more isolators than the VM ones (e.g. networking), over {@link #pathsIn} {@code dir}. */
    VmNode(Path dir, List<Isolator> more) throws IOException {
        this(dir, more, artifactsDir());
    }

    /** A node whose guests boot from the artifacts in {@code artifacts} (a test's own copy, to change them). */
    VmNode(Path dir, List<Isolator> more, Path artifacts) throws IOException {
        requireRootAndLibvirt();
        this.dir = dir;
        paths = pathsIn(dir);
        GuestArtifacts guest = GuestArtifacts.load(artifacts);
        launcher = new VmLauncher(paths, guest.applyTo(VmLauncherConfig.defaults(paths)));
        // the operator's part: QEMU's unprivileged user may search the directory the node's state is in
        launcher.qemuUser().allow(dir, PosixAcls.EXECUTE);
        UnifiedContainerizer.Builder builder = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(launcher)
                .isolator(new VmResourcesIsolator(launcher.config().sizing(), launcher))
                .isolator(new VmRootfsIsolator(paths, launcher.qemuUser()))
                .isolator(new LinuxFilesystemIsolator(paths))
                .isolator(new DockerVolumeIsolator(paths, dir.resolve("volume-plugins"), Duration.ofSeconds(10)))
                .isolators(more)
                .provisioner(new ImageProvisioner(paths, CredentialsProvider.NONE, RegistryTransport.Options.DEFAULTS,
                        RootfsBackends.detect(paths), BlobHolder.NONE));
        // file URIs of the test's own directory, for tasks' uris
        Fetchers.all(new ArtifactCache(paths), new Fetchers.Options(Duration.ofSeconds(10), Duration.ofMinutes(1),
                List.of(dir)), Optional.empty()).forEach(builder::fetcher);
        containerizer = builder.build();
    }

    static RuntimePaths pathsIn(Path dir) {
        return new RuntimePaths(dir.resolve("state"), dir.resolve("run"));
    }

    VmNode recovered() {
        containerizer.recover();
        return this;
    }

    /**
     * A recovered node over a new directory under /var/tmp named {@code prefix} and a random suffix: the
     * start of a test class's node. If the node cannot start, the directory is deleted again.
     */
    static VmNode inNewDir(String prefix) throws Exception {
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), prefix);
        try {
            return new VmNode(dir).recovered();
        } catch (Throwable e) {
            run("rm", "-rf", dir.toString());
            throw e;
        }
    }

    /** Destroys and removes every container, then closes: the end of a test, not a daemon going away. */
    void destroyAllAndClose() {
        for (var status : containerizer.list()) {
            containerizer.destroy(status.getId());
            containerizer.remove(status.getId());
        }
        close();
    }

    /** {@link #destroyAllAndClose}, then deletes {@link #dir}: the end of a test class's node. */
    void destroyAllCloseAndDeleteDir() throws Exception {
        destroyAllAndClose();
        run("rm", "-rf", dir.toString());
    }

    @Override
    public void close() {
        launcher.close();
    }

    /** The artifacts the images module built (the build passes their directory). */
    static Path artifactsDir() {
        return Path.of(System.getProperty("vessel.guest.artifacts", "../images/target/guest"));
    }

    record Cli(int code, String out, String err) {
    }

    /** The vessel CLI in its own JVM, as a user runs it, against the daemon on {@code socket}; its output in {@code dir}. */
    static Cli cli(Path socket, Path dir, String... args) throws Exception {
        Path out = dir.resolve("cli.out");
        Path err = dir.resolve("cli.err");
        Process p = new ProcessBuilder(cliCommand(socket, args)).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("vessel " + String.join(" ", args) + " did not finish");
        }
        return new Cli(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** The vessel CLI started with pipes to its stdin, stdout and stderr, for a test to talk to (an interactive console). */
    static Process cliProcess(Path socket, String... args) throws IOException {
        return new ProcessBuilder(cliCommand(socket, args)).start();
    }

    static List<String> cliCommand(Path socket, String... args) {
        List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "dev.vessel.node.cli.Vessel", "--host", "unix://" + socket));
        command.addAll(List.of(args));
        return command;
    }

    /** The Debian cloud image the images module built (cached): its qcow2 and its default user. */
    record CloudImage(Path disk, String defaultUser) {
    }

    static CloudImage cloudImage() throws IOException {
        Properties image = new Properties();
        Path properties = Path.of(System.getProperty("vessel.cloud.image", "../images/target/cloud/image.properties"));
        try (InputStream in = Files.newInputStream(properties)) {
            image.load(in);
        }
        return new CloudImage(Path.of(image.getProperty("disk")), image.getProperty("default_user"));
    }

    static void requireRootAndLibvirt() {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("the VM tests must run as root (libvirt, mounts)");
        }
        if (!Files.exists(Path.of("/var/run/libvirt/libvirt-sock"))) {
            throw new IllegalStateException("libvirtd is not running (start virtlogd -d and libvirtd -d)");
        }
    }

    /** A busybox image in an OCI layout, made with umoci from the host's busybox-static: no registry. */
    static ImageReference busyboxImage(Path dir) throws Exception {
        Path rootfs = BusyboxRootfs.create(dir.resolve("busybox-rootfs"));
        Path layout = dir.resolve("layout");
        run("umoci", "init", "--layout", layout.toString());
        run("umoci", "new", "--image", layout + ":busybox");
        run("umoci", "insert", "--image", layout + ":busybox", rootfs.toString(), "/");
        return ImageReference.newBuilder().setSource(ImageSource.OCI_LAYOUT).setPath(layout.toString())
                .setTag("busybox").build();
    }

    /** The names of every libvirt domain, running or defined. */
    static List<String> domains() throws Exception {
        return run("virsh", "-q", "list", "--all", "--name").lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    /**
     * Waits until libvirt lists no domain whose name is {@code name}. After a task's exit its QEMU is
     * gone, but libvirt forgets the domain only once QEMU is reaped, which this host's PID 1 does up
     * to a second or so later.
     */
    static void awaitNoDomain(String name) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (domains().contains(name)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("libvirt still lists " + name + " 30 s after its end");
            }
            Thread.sleep(100);
        }
    }

    /** Waits until the container's stdout is exactly {@code expected}; fails if it ends first. */
    void awaitStdout(String id, String expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        Path log = paths.stdoutLog(paths.containerDir(List.of(id)));
        while (!(Files.exists(log) && Files.readString(log).equals(expected))) {
            if (System.nanoTime() > deadline || containerizer.status(id).getState() == ContainerState.TERMINATED) {
                throw new AssertionError(id + ": stdout never became '" + expected + "': "
                        + (Files.exists(log) ? Files.readString(log) : "(no log)") + " " + containerizer.status(id));
            }
            Thread.sleep(50);
        }
    }

    /** Waits until the container's stdout contains {@code text}; fails if it ends first. */
    void awaitStdoutContains(String id, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!stdout(id).contains(text)) {
            if (System.nanoTime() > deadline || containerizer.status(id).getState() == ContainerState.TERMINATED) {
                throw new AssertionError(id + ": stdout never held '" + text + "': " + stdout(id) + "\nstderr: "
                         + stderr(id) + " " + containerizer.status(id));
            }
            Thread.sleep(50);
        }
    }

    /** The container's stdout so far ("" before its log exists). */
    String stdout(String id) throws IOException {
        return readIfExists(paths.stdoutLog(paths.containerDir(List.of(id))));
    }

    /** The container's stderr so far ("" before its log exists). */
    String stderr(String id) throws IOException {
        return readIfExists(paths.stderrLog(paths.containerDir(List.of(id))));
    }

    private static String readIfExists(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file) : "";
    }

    /**
     * Whether the process exists and has not exited: QEMU may be a zombie for a moment after a task's
     * end (it is daemonized, and this host's PID 1 reaps it when it gets round to it).
     */
    static boolean isRunning(long pid) throws Exception {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (!Files.exists(stat)) {
            return false;
        }
        String line = Files.readString(stat);
        return line.charAt(line.lastIndexOf(')') + 2) != 'Z';
    }

    /**
     * The CPU weight of the domain whose QEMU is {@code qemuPid}, as the kernel has it: {@code cpu.shares} of the
     * domain's v1 cpu cgroup.
     */
    static long domainCpuShares(long qemuPid) throws Exception {
        return Long.parseLong(Files.readString(domainCpuCgroup(qemuPid).resolve("cpu.shares")).strip());
    }

    /** The domain's CFS quota and period in µs, as the kernel has them ({@code -1} for the quota: none). */
    static long[] domainCpuQuotaAndPeriod(long qemuPid) throws Exception {
        Path cgroup = domainCpuCgroup(qemuPid);
        return new long[] {Long.parseLong(Files.readString(cgroup.resolve("cpu.cfs_quota_us")).strip()),
            Long.parseLong(Files.readString(cgroup.resolve("cpu.cfs_period_us")).strip())};
    }

    /** The domain's v1 cpu cgroup (libvirt runs QEMU's main thread in its {@code emulator} child). */
    private static Path domainCpuCgroup(long qemuPid) throws Exception {
        String cpuMount = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] halves = line.split(" - ", 2);
            String[] after = halves[1].split(" ");
            if (after[0].equals("cgroup") && List.of(after[2].split(",")).contains("cpu")) {
                cpuMount = halves[0].split(" ")[4];
            }
        }
        if (cpuMount == null) {
            throw new IllegalStateException("this test reads a v1 cpu cgroup: the host mounts none");
        }
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(qemuPid), "cgroup"))) {
            String[] fields = line.split(":", 3);
            if (List.of(fields[1].split(",")).contains("cpu")) {
                Path cgroup = Path.of(cpuMount + fields[2]);
                return cgroup.getFileName().toString().equals("emulator") ? cgroup.getParent() : cgroup;
            }
        }
        throw new IllegalStateException("QEMU " + qemuPid + " is in no cpu cgroup");
    }

    /** The file's SHA-256, read in chunks (a cloud image is hundreds of MB). */
    static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                digest.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", Stream.of(command).toList()) + " failed:\n" + out);
        }
        return out;
    }
}
