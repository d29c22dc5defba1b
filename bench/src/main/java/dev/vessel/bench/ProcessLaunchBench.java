package dev.vessel.bench;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Namespace;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.Rlimit;
import dev.vessel.core.model.Seccomp;
import dev.vessel.core.model.Termination;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.IsolatorContext;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.launcher.process.ProcessLauncher;
import dev.vessel.linux.CgroupHierarchies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Launch-to-exit of {@code /bin/true} on one busybox rootfs: Vessel with its defaults
 * (UnifiedContainerizer + ProcessLauncher + the cgroup, capability, seccomp, rlimit and namespace
 * isolators, in this warm JVM: masked and read-only paths, the default seccomp filter, a network
 * namespace of its own with {@code lo} up) beside {@code runc run} and {@code crun run} given the same
 * seccomp profile, masked and read-only paths and a network namespace, in alternating rounds of the
 * same run. What each part costs is measured beside them: Vessel without seccomp, Vessel in the
 * host's network namespace, and crun without masked and read-only paths (Vessel's helper applies them
 * with the same mounts crun makes, and has no switch to leave them out).
 *
 * <p>Benchmarks: {@code process-launch} (sequential latency), {@code process-throughput} (wall time
 * of 50 concurrent launches, Vessel vs crun). Arguments: benchmark names; none runs both.
 */
public final class ProcessLaunchBench {
    /** Launches each baseline makes before the measured rounds (a fresh process each time: page cache only). */
    private static final int WARMUP = 10;
    /**
     * Launches Vessel makes before the measured rounds: a daemon launches thousands of containers, and
     * its launch path only runs compiled after some hundreds; the first ones are reported apart.
     */
    private static final int VESSEL_WARMUP = Integer.getInteger("bench.vessel-warmup", 500);
    private static final int FIRST = 10;
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 30);
    private static final int CONCURRENT = 50;
    private static final int THROUGHPUT_ROUNDS = 3;
    /** The cgroup controllers runc and crun set up for a container, and what their bundle asks for. */
    private static final List<String> ISOLATORS = List.of("cgroups", "cgroups/memory", "cgroups/cpu", "cgroups/pids",
            "cgroups/cpuset", "cgroups/devices", "linux/capabilities", "linux/seccomp", "posix/rlimits", "namespaces");

    private final Path work;
    /**
     * Where every runtime keeps its per-container state: a directory in the host's {@code /run}, where
     * runc's and crun's defaults and Vessel's run dir live, on whatever filesystem the host has there.
     */
    private final Path runBase;
    private final Path rootfs;
    private final Path bundle;
    private final Path bundleWithoutMasks;
    private final UnifiedContainerizer containerizer;
    private final AtomicLong ids = new AtomicLong();

    private ProcessLaunchBench(Path work, Path runBase) throws Exception {
        this.work = work;
        this.runBase = runBase;
        this.rootfs = BusyboxRootfs.create(work.resolve("rootfs"));
        this.bundle = OciRuntimes.bundle(work.resolve("bundle"), rootfs, true);
        this.bundleWithoutMasks = OciRuntimes.bundle(work.resolve("bundle-nomasks"), rootfs, false);
        RuntimePaths paths = new RuntimePaths(work.resolve("state"), runBase.resolve("vessel"));
        // what the runc spec bundle below asks of runc and crun: the OCI capabilities,
        // RLIMIT_NOFILE 1024/1024, and the pid, mount, uts and ipc namespaces
        IsolatorContext context = IsolatorContext.of(paths, CgroupHierarchies.detect(), "vessel-bench")
                .withRlimitDefaults(List.of(Rlimit.newBuilder().setType("RLIMIT_NOFILE")
                        .setSoft(1024).setHard(1024).build()))
                .withNamespaces(EnumSet.of(Namespace.PID, Namespace.MOUNT, Namespace.UTS, Namespace.IPC));
        this.containerizer = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(ProcessLauncher.withBundledHelper(paths).keepingSpareHelper())
                .isolators(IsolatorCatalog.build(context, IsolatorCatalog.HOST, ISOLATORS))
                .build();
        containerizer.recover();
    }

    public static void main(String[] args) throws Exception {
        List<String> names = args.length == 0 ? List.of("process-launch", "process-throughput") : List.of(args);
        for (String name : names) {
            if (!List.of("process-launch", "process-throughput").contains(name)) {
                throw new IllegalArgumentException("unknown benchmark '" + name + "' (process-launch, process-throughput)");
            }
        }
        Path work = Files.createTempDirectory("vessel-bench");
        Path runBase = Files.createTempDirectory(Path.of("/run"), "vessel-bench-");
        try {
            ProcessLaunchBench bench = new ProcessLaunchBench(work, runBase);
            System.out.printf(Locale.ROOT, "runtimes' state (Vessel's run dir, runc's and crun's roots) in %s (%s)%n",
                    runBase, Files.getFileStore(runBase).type());
            if (names.contains("process-launch")) {
                bench.latency();
            }
            if (names.contains("process-throughput")) {
                bench.throughput();
            }
        } finally {
            Stats.deleteTree(runBase);
            Stats.deleteTree(work);
            for (var hierarchy : CgroupHierarchies.detect().all()) {
                Files.deleteIfExists(hierarchy.mountPoint().resolve("vessel-bench"));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------

    private void latency() throws Exception {
        Map<String, Run> runs = Map.of("vessel", this::vessel, "vessel-noseccomp", this::vesselUnconfined,
                "vessel-hostnet", this::vesselHostNetwork, "runc", this::runc, "crun", this::crun,
                "crun-nomasks", this::crunWithoutMasks);
        List<String> order = List.of("vessel", "vessel-noseccomp", "vessel-hostnet", "runc", "crun", "crun-nomasks");
        List<Double> first = new ArrayList<>();
        for (int i = 0; i < VESSEL_WARMUP; i++) {
            long t0 = System.nanoTime();
            vessel();
            if (i < FIRST) {
                first.add((System.nanoTime() - t0) / 1e6);
            }
        }
        for (int i = 0; i < WARMUP; i++) {
            vesselUnconfined();
            vesselHostNetwork();
            runc();
            crun();
            crunWithoutMasks();
        }
        Map<String, List<Double>> ms = new java.util.HashMap<>();
        for (int i = 0; i < ROUNDS; i++) {
            for (String n : order) {
                long t0 = System.nanoTime();
                runs.get(n).once();
                ms.computeIfAbsent(n, k -> new ArrayList<>()).add((System.nanoTime() - t0) / 1e6);
            }
        }
        System.out.printf(Locale.ROOT, "process-launch: /bin/true launch-to-exit, %d alternating rounds after %d warm-up "
                + "launches of Vessel (its first %d: median %.2f ms, min %.2f ms) and %d of each baseline%n", ROUNDS,
                VESSEL_WARMUP, FIRST, Stats.median(first), first.stream().min(Double::compare).orElseThrow(), WARMUP);
        System.out.printf(Locale.ROOT, "%-17s %9s %9s %9s%n", "runtime", "median", "min", "max");
        for (String n : order) {
            List<Double> s = ms.get(n).stream().sorted().toList();
            System.out.printf(Locale.ROOT, "%-17s %7.2fms %7.2fms %7.2fms%n", n, Stats.median(s), s.getFirst(), s.getLast());
        }
        double vessel = Stats.median(ms.get("vessel"));
        for (String baseline : List.of("runc", "crun")) {
            double b = Stats.median(ms.get(baseline));
            System.out.printf(Locale.ROOT, "{\"bench\":\"process-launch\",\"vessel_ms\":%.2f,\"baseline\":\"%s\","
                    + "\"baseline_ms\":%.2f,\"ratio\":%.3f,\"runs\":%d}%n", vessel, baseline, b, vessel / b, ROUNDS);
        }
        // what each default costs a launch: the seccomp filter (its install in the helper; the compile is
        // cached), the network namespace (made by the clone, lo brought up, torn down by the kernel), and
        // the masked and read-only paths (measured on crun, which makes the same mounts)
        part("seccomp", "vessel", vessel, "vessel-noseccomp", Stats.median(ms.get("vessel-noseccomp")));
        part("netns", "vessel", vessel, "vessel-hostnet", Stats.median(ms.get("vessel-hostnet")));
        part("masked-paths", "crun", Stats.median(ms.get("crun")), "crun-nomasks", Stats.median(ms.get("crun-nomasks")));
    }

    private static void part(String part, String with, double withMs, String without, double withoutMs) {
        System.out.printf(Locale.ROOT, "{\"bench\":\"process-launch-part\",\"part\":\"%s\",\"with\":\"%s\","
                + "\"with_ms\":%.2f,\"without\":\"%s\",\"without_ms\":%.2f,\"cost_ms\":%.2f,\"runs\":%d}%n",
                part, with, withMs, without, withoutMs, withMs - withoutMs, ROUNDS);
    }

    private void throughput() throws Exception {
        List<Double> vessel = new ArrayList<>();
        List<Double> crun = new ArrayList<>();
        for (int i = 0; i < VESSEL_WARMUP / CONCURRENT; i++) {
            concurrently(this::vessel); // warm-up, as for latency
        }
        concurrently(this::crun);
        for (int i = 0; i < THROUGHPUT_ROUNDS; i++) {
            vessel.add(concurrently(this::vessel));
            crun.add(concurrently(this::crun));
        }
        System.out.printf(Locale.ROOT, "process-throughput: %d concurrent /bin/true launches, wall time, median of %d%n",
                CONCURRENT, THROUGHPUT_ROUNDS);
        System.out.printf(Locale.ROOT, "%-14s %8.1fms  (%.0f launches/s)%n", "vessel", Stats.median(vessel),
                CONCURRENT / Stats.median(vessel) * 1000);
        System.out.printf(Locale.ROOT, "%-14s %8.1fms  (%.0f launches/s)%n", "crun", Stats.median(crun),
                CONCURRENT / Stats.median(crun) * 1000);
        System.out.printf(Locale.ROOT, "{\"bench\":\"process-throughput\",\"vessel_ms\":%.1f,\"baseline\":\"crun\","
                + "\"baseline_ms\":%.1f,\"ratio\":%.3f,\"runs\":%d,\"concurrent\":%d}%n",
                Stats.median(vessel), Stats.median(crun), Stats.median(vessel) / Stats.median(crun), THROUGHPUT_ROUNDS, CONCURRENT);
    }

    private double concurrently(Run run) throws Exception {
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            long t0 = System.nanoTime();
            List<Future<?>> all = new ArrayList<>();
            for (int i = 0; i < CONCURRENT; i++) {
                all.add(pool.submit(() -> {
                    run.once();
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get();
            }
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // the contenders

    @FunctionalInterface
    private interface Run {
        void once() throws Exception;
    }

    /** A default container: nothing asked for beyond the command and the rootfs. */
    private void vessel() throws Exception {
        launchTrue(trueContainer("b"));
    }

    /** The same launch with {@code seccomp.unconfined}: no filter. */
    private void vesselUnconfined() throws Exception {
        launchTrue(trueContainer("u").setSeccomp(Seccomp.newBuilder().setUnconfined(true)));
    }

    /** The same launch in the host's network namespace: no namespace of its own to make, lo to bring up. */
    private void vesselHostNetwork() throws Exception {
        launchTrue(trueContainer("h").addNetworks(NetworkAttachment.newBuilder().setNetwork(NetworkNames.HOST)));
    }

    private ContainerConfig.Builder trueContainer(String prefix) {
        return ContainerConfig.newBuilder().setId(prefix + ids.incrementAndGet()).setIsolation(Isolation.PROCESS)
                .addCommand("/bin/true").setHostRootfs(rootfs.toString());
    }

    private void launchTrue(ContainerConfig.Builder config) throws Exception {
        String id = config.getId();
        containerizer.launch(config.build());
        Termination t = containerizer.wait(id).join();
        if (t.getExitCode() != 0) {
            throw new IllegalStateException("vessel: /bin/true ended with " + t);
        }
        containerizer.remove(id); // part of the cost, as runc/crun run delete their container too
    }

    private void runc() throws Exception {
        OciRuntimes.exec(OciRuntimes.runcRun(runBase.resolve("runc"), bundle, "r" + ids.incrementAndGet()));
    }

    private void crun() throws Exception {
        OciRuntimes.exec(OciRuntimes.crunRun(runBase.resolve("crun"), bundle, "c" + ids.incrementAndGet()));
    }

    private void crunWithoutMasks() throws Exception {
        OciRuntimes.exec(OciRuntimes.crunRun(runBase.resolve("crun"), bundleWithoutMasks, "m" + ids.incrementAndGet()));
    }
}
