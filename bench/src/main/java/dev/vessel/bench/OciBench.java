package dev.vessel.bench;

import dev.vessel.launcher.process.BusyboxRootfs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Vessel as an OCI runtime, beside runc and crun in the same alternating rounds:
 * <ul>
 * <li>{@code podman-*}: {@code podman --runtime R run --rm --network none IMAGE /bin/true} for R = {@code
 * bin/vessel-runtime}, runc and crun, the same image in a private podman store (podman's cost is in all
 * three: the ratio is what the runtime adds);
 * <li>{@code cycle-*}: the runtime alone, {@code create}, {@code start}, {@code delete --force} of one
 * container on the same bundle ({@code runc spec}'s, {@code /bin/true}), the calls an engine makes.
 * </ul>
 * vessel-runtime keeps a vesseld per root, started by its first call (in the warm-up): what is timed is
 * the steady state an engine sees. Everything is removed at the end: the containers, the daemon, podman's
 * store and mounts, the cgroup parents.
 */
public final class OciBench {
    private static final int WARMUP = 3;
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 20);
    private static final String PODMAN_CGROUP_PARENT = "vessel-oci-bench-podman";
    private static final List<String> RUNTIMES = List.of("vessel", "runc", "crun");

    private final Path repository;
    private final Path work;
    private final AtomicLong ids = new AtomicLong();
    private Path vesselRuntime;
    private Path vesselRoot;
    private Path bundle;
    private String podmanImage;
    private String vesselCgroupParent;

    private OciBench(Path repository, Path work) {
        this.repository = repository;
        this.work = work;
    }

    public static void main(String[] args) throws Exception {
        Path repository = BenchDaemon.repositoryRoot("oci");
        // short: podman refuses a run root longer than 50 characters
        Path work = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-ob");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        OciBench bench = new OciBench(repository, work);
        try {
            bench.setUp();
            bench.measure();
        } finally {
            bench.tearDown();
        }
    }

    private void setUp() throws Exception {
        Path rootfs = BusyboxRootfs.create(work.resolve("rootfs"));
        bundle = OciRuntimes.bundle(work.resolve("bundle"), rootfs, true);
        vesselRoot = work.resolve("vessel-root");
        // podman passes no --root: the wrapper gives the bench's own
        vesselRuntime = work.resolve("vessel-runtime");
        Files.writeString(vesselRuntime, "#!/bin/sh\nexec '" + repository.resolve("bin/vessel-runtime") + "' --root '"
                + vesselRoot + "' \"$@\"\n");
        Files.setPosixFilePermissions(vesselRuntime, PosixFilePermissions.fromString("rwxr-xr-x"));

        Path tar = work.resolve("rootfs.tar");
        setup(new ProcessBuilder("tar", "-C", rootfs.toString(), "-cf", tar.toString(), "."));
        Files.writeString(work.resolve("containers.conf"), """
                [containers]
                # podman's default ulimits are refused here ("operation not permitted")
                default_ulimits = []
                [engine]
                # no systemd on these machines
                cgroup_manager = "cgroupfs"
                events_logger = "file"
                """);
        podmanImage = "localhost/vessel-oci-bench:latest";
        setup(podman("import", tar.toString(), podmanImage));
    }

    private void measure() throws Exception {
        Map<String, Run> runs = new LinkedHashMap<>();
        for (String runtime : RUNTIMES) {
            runs.put("podman-" + runtime, () -> podmanRun(runtime));
        }
        for (String runtime : RUNTIMES) {
            runs.put("cycle-" + runtime, () -> cycle(runtime));
        }
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        for (int i = 0; i < WARMUP + ROUNDS; i++) {
            for (Map.Entry<String, Run> run : runs.entrySet()) {
                long t0 = System.nanoTime();
                run.getValue().once();
                double took = (System.nanoTime() - t0) / 1e6;
                if (i >= WARMUP) {
                    ms.computeIfAbsent(run.getKey(), k -> new ArrayList<>()).add(took);
                }
            }
        }
        System.out.printf(Locale.ROOT, "oci: /bin/true through podman with each runtime, and each runtime's create+start+"
                + "delete alone, %d alternating rounds after %d warm-up%n", ROUNDS, WARMUP);
        System.out.printf(Locale.ROOT, "%-14s %9s %9s %9s%n", "path", "median", "min", "max");
        for (Map.Entry<String, List<Double>> e : ms.entrySet()) {
            List<Double> s = e.getValue().stream().sorted().toList();
            System.out.printf(Locale.ROOT, "%-14s %7.1fms %7.1fms %7.1fms%n", e.getKey(), Stats.median(s), s.getFirst(),
                    s.getLast());
        }
        for (String path : List.of("podman", "cycle")) {
            for (String baseline : List.of("runc", "crun")) {
                double v = Stats.median(ms.get(path + "-vessel"));
                double b = Stats.median(ms.get(path + "-" + baseline));
                System.out.printf(Locale.ROOT, "%s-vessel / %s-%s = %.2f%n", path, path, baseline, v / b);
                System.out.printf(Locale.ROOT, "{\"bench\":\"oci-%s\",\"vessel_ms\":%.1f,\"baseline\":\"%s\","
                        + "\"baseline_ms\":%.1f,\"ratio\":%.3f,\"runs\":%d}%n", path, v, baseline, b, v / b, ROUNDS);
            }
        }
    }

    @FunctionalInterface
    private interface Run {
        void once() throws Exception;
    }

    private void podmanRun(String runtime) throws Exception {
        run(podman("run", "--rm", "--pull", "never", "--runtime", runtimeBinary(runtime), "--network", "none",
                "--cgroup-parent", "/" + PODMAN_CGROUP_PARENT, podmanImage, "/bin/true"));
    }

    /** create, start, delete --force: the program may still be running at the delete, as with an engine's kill. */
    private void cycle(String runtime) throws Exception {
        String id = "ob" + ids.incrementAndGet();
        List<String> runtimeCommand = runtimeCommand(runtime);
        run(command(runtimeCommand, "create", "--bundle", bundle.toString(), id));
        run(command(runtimeCommand, "start", id));
        run(command(runtimeCommand, "delete", "--force", id));
    }

    private String runtimeBinary(String runtime) {
        return runtime.equals("vessel") ? vesselRuntime.toString() : runtime;
    }

    /** runc and crun keep their state in a root of the bench's own; vessel-runtime's wrapper names its root. */
    private List<String> runtimeCommand(String runtime) {
        return runtime.equals("vessel") ? List.of(vesselRuntime.toString())
                : List.of(runtime, "--root", work.resolve(runtime + "-state").toString());
    }

    private static ProcessBuilder command(List<String> runtime, String... args) {
        List<String> command = new ArrayList<>(runtime);
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    private ProcessBuilder podman(String... args) {
        List<String> command = new ArrayList<>(List.of("podman", "--root", work.resolve("podman/root").toString(),
                "--runroot", work.resolve("prun").toString(), "--network-config-dir", work.resolve("cni").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("CONTAINERS_CONF", work.resolve("containers.conf").toString());
        return pb;
    }

    /**
     * A timed command: its output goes to a file (vessel-runtime's create leaves a shim holding the
     * descriptors it was given, as runc's container holds them), only its exit code is checked.
     */
    private void run(ProcessBuilder pb) throws Exception {
        Path out = work.resolve("last-call.out");
        Process p = pb.redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", pb.command()) + " failed: " + Files.readString(out));
        }
    }

    private static String setup(ProcessBuilder pb) throws Exception {
        Process p = pb.redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", pb.command()) + " exited " + p.exitValue() + ":\n" + output);
        }
        return output;
    }

    // ---------------------------------------------------------------------------------------------
    // cleaning up: each step runs even when an earlier one failed

    private void tearDown() throws Exception {
        List<Exception> failures = new ArrayList<>();
        step(failures, () -> {
            if (Files.exists(work.resolve("podman"))) {
                setup(podman("rm", "-af"));
                setup(podman("rmi", "-af"));
            }
        });
        step(failures, this::stopVesselDaemon);
        step(failures, this::unmountUnderWork); // podman's overlay storage leaves its home mounted
        step(failures, () -> {
            BenchDaemon.removeCgroup(PODMAN_CGROUP_PARENT);
            if (vesselCgroupParent != null) {
                BenchDaemon.removeCgroup(vesselCgroupParent);
            }
        });
        step(failures, () -> Stats.deleteTree(work));
        if (!failures.isEmpty()) {
            Exception first = failures.getFirst();
            failures.stream().skip(1).forEach(first::addSuppressed);
            throw first;
        }
    }

    @FunctionalInterface
    private interface Step {
        void run() throws Exception;
    }

    private static void step(List<Exception> failures, Step step) {
        try {
            step.run();
        } catch (Exception e) {
            failures.add(e);
        }
    }

    /** Removes what is left on the root, then ends its daemon (its pid is in the state dir's lock file). */
    private void stopVesselDaemon() throws Exception {
        Path lock = vesselRoot.resolve("state").resolve("vesseld.lock");
        if (!Files.exists(lock)) {
            return;
        }
        for (String id : setup(new ProcessBuilder(vesselRuntime.toString(), "list", "-q")).lines()
                .filter(l -> !l.isBlank()).toList()) {
            setup(new ProcessBuilder(vesselRuntime.toString(), "delete", "--force", id));
        }
        String pid = Files.readString(lock).trim();
        if (!pid.isEmpty()) {
            // the cgroup parent vessel-runtime chose for this root is on its daemon's command line
            List<String> argv = List.of(Files.readString(Path.of("/proc", pid, "cmdline")).split("\0"));
            int flag = argv.indexOf("--cgroup-parent");
            vesselCgroupParent = flag >= 0 ? argv.get(flag + 1) : null;
            ProcessHandle.of(Long.parseLong(pid)).ifPresent(daemon -> {
                daemon.destroy();
                daemon.onExit().orTimeout(60, TimeUnit.SECONDS).join();
            });
        }
    }

    private void unmountUnderWork() throws Exception {
        List<String> mounts = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String mountPoint = line.split(" ")[4];
            if (mountPoint.startsWith(work + "/")) {
                mounts.add(mountPoint);
            }
        }
        mounts.sort(Comparator.reverseOrder()); // the deepest first
        for (String mountPoint : mounts) {
            setup(new ProcessBuilder("umount", mountPoint));
        }
    }
}
