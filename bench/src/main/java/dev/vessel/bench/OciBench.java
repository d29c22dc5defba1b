package dev.vessel.bench;

import dev.vessel.launcher.process.BusyboxRootfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
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
        Commands.setup(new ProcessBuilder("tar", "-C", rootfs.toString(), "-cf", tar.toString(), "."));
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
        Commands.setup(podman("import", tar.toString(), podmanImage));
    }

    private void measure() throws Exception {
        Map<String, Rounds.Run> runs = new LinkedHashMap<>();
        for (String runtime : RUNTIMES) {
            runs.put("podman-" + runtime, () -> podmanRun(runtime));
        }
        for (String runtime : RUNTIMES) {
            runs.put("cycle-" + runtime, () -> cycle(runtime));
        }
        Map<String, List<Double>> ms = Rounds.measure(runs, WARMUP, ROUNDS);
        System.out.printf(Locale.ROOT, "oci: /bin/true through podman with each runtime, and each runtime's create+start+"
                + "delete alone, %d alternating rounds after %d warm-up%n", ROUNDS, WARMUP);
        Rounds.printTable(ms);
        for (String path : List.of("podman", "cycle")) {
            for (String baseline : List.of("runc", "crun")) {
                Rounds.printComparison("oci-" + path, ms.get(path + "-vessel"), baseline, ms.get(path + "-" + baseline));
            }
        }
    }

    private void podmanRun(String runtime) throws Exception {
        Commands.run(podman("run", "--rm", "--pull", "never", "--runtime", runtimeBinary(runtime), "--network", "none",
                "--cgroup-parent", "/" + PODMAN_CGROUP_PARENT, podmanImage, "/bin/true"));
    }

    /** create, start, delete --force: the program may still be running at the delete, as with an engine's kill. */
    private void cycle(String runtime) throws Exception {
        String id = "ob" + ids.incrementAndGet();
        List<String> runtimeCommand = runtimeCommand(runtime);
        Commands.run(command(runtimeCommand, "create", "--bundle", bundle.toString(), id));
        Commands.run(command(runtimeCommand, "start", id));
        Commands.run(command(runtimeCommand, "delete", "--force", id));
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

    // ---------------------------------------------------------------------------------------------
    // cleaning up: each step runs even when an earlier one failed

    private void tearDown() throws Exception {
        Commands.allSteps(List.of(
                () -> {
                    if (Files.exists(work.resolve("podman"))) {
                        Commands.setup(podman("rm", "-af"));
                        Commands.setup(podman("rmi", "-af"));
                    }
                },
                this::stopVesselDaemon,
                () -> Commands.unmountUnder(work),
                () -> {
                    BenchDaemon.removeCgroup(PODMAN_CGROUP_PARENT);
                    if (vesselCgroupParent != null) {
                        BenchDaemon.removeCgroup(vesselCgroupParent);
                    }
                },
                () -> Stats.deleteTree(work)));
    }

    /** Removes what is left on the root, then ends its daemon (its pid is in the state dir's lock file). */
    private void stopVesselDaemon() throws Exception {
        Path lock = vesselRoot.resolve("state").resolve("vesseld.lock");
        if (!Files.exists(lock)) {
            return;
        }
        for (String id : Commands.setup(new ProcessBuilder(vesselRuntime.toString(), "list", "-q")).lines()
                .filter(l -> !l.isBlank()).toList()) {
            Commands.setup(new ProcessBuilder(vesselRuntime.toString(), "delete", "--force", id));
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
}
