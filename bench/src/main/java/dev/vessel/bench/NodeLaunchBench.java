package dev.vessel.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.launcher.process.BusyboxRootfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code /bin/true} from a busybox image, launch to removal, on a whole node, in alternating rounds
 * of one run:
 * <ul>
 * <li>{@code vessel-cli}: {@code bin/vessel run --rm IMAGE /bin/true}, the CLI's JVM start included;
 * <li>{@code vessel-api}: the same through vesseld's HTTP API alone, from this JVM (create, wait, remove);
 * <li>{@code podman}: {@code podman run --rm --runtime runc --network none} on the same image, already in
 * a private podman store (crun, podman's default runtime, refuses this machine's hybrid cgroups; and
 * {@code --network none} gives the container a network namespace of its own, as Vessel's default
 * does, and as the crun bundle now does too);
 * <li>{@code crun}: {@code crun run} on the image's rootfs (no image, no daemon: the floor);
 * <li>{@code cli-start}: {@code bin/vessel --version}, what the CLI's JVM start alone costs;
 * <li>{@code podman-version}: {@code podman --version}, its baseline.
 * </ul>
 * The bench starts its own vesseld (state and run directories under /var/tmp, its own cgroup parent)
 * from the built tree, and stops and removes everything at the end: the daemon, podman's store and its
 * mounts, both runtimes' cgroups, the temporary directory.
 */
public final class NodeLaunchBench {
    private static final int WARMUP = 3;
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 20);
    private static final String CGROUP_PARENT = "vessel-node-bench";
    private static final String PODMAN_CGROUP_PARENT = "vessel-node-bench-podman";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path repository;
    private final Path work;
    private final AtomicLong ids = new AtomicLong();
    private BenchDaemon daemon;
    private UnixHttp api;
    private String host;
    private String image;
    private String podmanImage;
    private Path bundle;

    private NodeLaunchBench(Path repository, Path work) {
        this.repository = repository;
        this.work = work;
    }

    public static void main(String[] args) throws Exception {
        Path repository = BenchDaemon.repositoryRoot("node-launch");
        // short and lowercase: podman names an oci: image after its path (lowercase only) and refuses a
        // runroot path longer than 50 characters; the JDK's random suffix is digits
        Path work = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-nb");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        NodeLaunchBench bench = new NodeLaunchBench(repository, work);
        try {
            bench.setUp();
            bench.measure();
        } finally {
            bench.tearDown();
        }
    }

    // ---------------------------------------------------------------------------------------------

    private void setUp() throws Exception {
        Path rootfs = BusyboxRootfs.create(work.resolve("rootfs"));
        image = Commands.ociImage(work.resolve("image"), rootfs);
        bundle = OciRuntimes.bundle(work.resolve("bundle"), rootfs, true);

        startDaemon();
        Commands.setup(vessel("pull", image)); // also makes the CLI's start-up cache, if this build has none yet

        Files.writeString(work.resolve("containers.conf"), """
                [containers]
                # podman's default ulimits are refused here ("operation not permitted")
                default_ulimits = []
                [engine]
                # no systemd on these machines
                cgroup_manager = "cgroupfs"
                events_logger = "file"
                """);
        List<String> pulled = Commands.setup(podman("pull", "-q", image)).lines().toList();
        podmanImage = pulled.getLast().strip();
    }

    private void startDaemon() throws Exception {
        daemon = BenchDaemon.start(repository, work, CGROUP_PARENT);
        api = daemon.api;
        host = "unix://" + daemon.socket;
    }

    private void measure() throws Exception {
        Map<String, Rounds.Run> runs = new LinkedHashMap<>();
        runs.put("vessel-cli", this::vesselCli);
        runs.put("vessel-api", this::vesselApi);
        runs.put("podman", this::podman);
        runs.put("crun", this::crun);
        runs.put("cli-start", this::cliStart);
        runs.put("podman-version", this::podmanVersion);
        Map<String, List<Double>> ms = Rounds.measure(runs, WARMUP, ROUNDS);
        System.out.printf(Locale.ROOT, "node-launch: /bin/true from a busybox image, launch to removal, "
                + "%d alternating rounds after %d warm-up%n", ROUNDS, WARMUP);
        Rounds.printTable(ms);
        for (String vessel : List.of("vessel-cli", "vessel-api")) {
            for (String baseline : List.of("podman", "crun")) {
                System.out.printf(Locale.ROOT, "%s / %s = %.2f%n", vessel, baseline,
                        Stats.median(ms.get(vessel)) / Stats.median(ms.get(baseline)));
            }
        }
        System.out.printf(Locale.ROOT, "cli-start / podman-version = %.2f%n",
                Stats.median(ms.get("cli-start")) / Stats.median(ms.get("podman-version")));
        Rounds.printComparison("node-launch-cli-start", ms.get("cli-start"), "podman-version", ms.get("podman-version"));
        for (String vessel : List.of("vessel-cli", "vessel-api")) {
            for (String baseline : List.of("podman", "crun")) {
                Rounds.printComparison("node-launch-" + vessel.substring("vessel-".length()), ms.get(vessel), baseline,
                        ms.get(baseline));
            }
        }
    }

    private void vesselCli() throws Exception {
        Commands.run(vessel("run", "--rm", image, "/bin/true"));
    }

    private void vesselApi() throws Exception {
        String id = "nb" + ids.incrementAndGet();
        api.call("POST", "/v1/containers", JSON.createObjectNode().put("id", id).put("image", image)
                .set("args", JSON.createArrayNode().add("/bin/true")).toString());
        JsonNode termination = JSON.readTree(api.call("POST", "/v1/containers/" + id + "/wait", ""));
        if (!termination.has("exit_code") || termination.get("exit_code").asInt() != 0) {
            throw new IllegalStateException("vessel-api: /bin/true ended with " + termination);
        }
        api.call("DELETE", "/v1/containers/" + id, null);
    }

    private void podman() throws Exception {
        Commands.run(podman("run", "--rm", "--pull", "never", "--runtime", "runc", "--network", "none", "--cgroup-parent",
                "/" + PODMAN_CGROUP_PARENT, podmanImage, "/bin/true"));
    }

    private void crun() throws Exception {
        OciRuntimes.exec(OciRuntimes.crunRun(work.resolve("crun-state"), bundle, "c" + ids.incrementAndGet()));
    }

    private void cliStart() throws Exception {
        Commands.run(vessel("--version"));
    }

    private void podmanVersion() throws Exception {
        Commands.run(new ProcessBuilder("podman", "--version"));
    }

    private ProcessBuilder vessel(String... args) {
        List<String> command = new ArrayList<>(List.of(repository.resolve("bin/vessel").toString(), "--host", host));
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    /** podman on a store of its own, with a configuration that works on this machine. */
    private ProcessBuilder podman(String... args) {
        List<String> command = new ArrayList<>(List.of("podman", "--root", work.resolve("podman/root").toString(),
                "--runroot", work.resolve("prun").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("CONTAINERS_CONF", work.resolve("containers.conf").toString());
        return pb;
    }

    // ---------------------------------------------------------------------------------------------
    // cleaning up: each step runs even when an earlier one failed

    private void tearDown() throws Exception {
        Commands.allSteps(List.of(
                this::stopDaemon,
                () -> {
                    if (Files.exists(work.resolve("podman"))) {
                        Commands.setup(podman("rm", "-af"));
                        Commands.setup(podman("rmi", "-af"));
                    }
                },
                () -> Commands.unmountUnder(work),
                () -> {
                    BenchDaemon.removeCgroup(CGROUP_PARENT);
                    BenchDaemon.removeCgroup(PODMAN_CGROUP_PARENT);
                },
                () -> Stats.deleteTree(work)));
    }

    private void stopDaemon() throws Exception {
        if (daemon != null) {
            daemon.stop();
        }
    }
}
