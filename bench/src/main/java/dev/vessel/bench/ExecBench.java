package dev.vessel.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.stdio.StdioFrame;
import dev.vessel.launcher.process.BusyboxRootfs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code true} exec'd into a running container, start to exit, in alternating rounds of one run:
 * <ul>
 * <li>{@code vessel-cli}: {@code bin/vessel exec ID true}, as a user types it (bin/vessel runs the native
 * client for an exec without options: no JVM starts);
 * <li>{@code vessel-api}: the same through vesseld's API alone, from this JVM (create the exec, start it on an
 * upgraded connection, read to its EXIT);
 * <li>{@code runc}: {@code runc exec ID /bin/true} into a container {@code runc run -d} started from the same
 * rootfs with the default bundle (its own namespaces, Vessel's default seccomp profile);
 * <li>{@code crun}: the same with crun;
 * <li>{@code cli-start}: {@code bin/vessel --version}, what the CLI's JVM start alone costs;
 * <li>in a second run ({@code exec-vm}), {@code vessel-vm-cli} and {@code vessel-vm-api}: the same into a VM
 * task of the same image (the exec goes through the guest agent to the guest's launch helper), beside the
 * process container's and runc's again. It is a run of its own because crun needs a mount namespace without
 * the host's cgroup2 mount (see bench/run) while libvirtd, outside it, needs the VMs' cgroup partitions
 * made in that mount too.
 * </ul>
 * The bench starts its own vesseld and removes everything at the end (containers, daemon, cgroups, work dir).
 */
public final class ExecBench {
    private static final int WARMUP = 5;
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 30);
    private static final String CGROUP_PARENT = "vessel-exec-bench";
    private static final String CONTAINER = "exec-bench";
    private static final String VM_CONTAINER = "exec-bench-vm";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path repository;
    private final Path work;
    private final boolean vm;
    private final List<String> runtimes;
    private BenchDaemon daemon;
    private final List<String[]> stops = new ArrayList<>();

    private ExecBench(Path repository, Path work, boolean vm) {
        this.repository = repository;
        this.work = work;
        this.vm = vm;
        this.runtimes = vm ? List.of("runc") : List.of("runc", "crun");
    }

    /** {@code args}: {@code vm} for the run with the VM task (no crun), else the process container's. */
    public static void main(String[] args) throws Exception {
        boolean vm = List.of(args).contains("vm");
        Path repository = BenchDaemon.repositoryRoot(vm ? "exec-vm" : "exec");
        Path work = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-eb");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        ExecBench bench = new ExecBench(repository, work, vm);
        try {
            bench.setUp();
            bench.measure();
        } finally {
            bench.tearDown();
        }
    }

    private void setUp() throws Exception {
        Path rootfs = BusyboxRootfs.create(work.resolve("rootfs"));
        String image = Commands.ociImage(work.resolve("image"), rootfs);
        daemon = BenchDaemon.start(repository, work, CGROUP_PARENT);
        Commands.setup(repository.resolve("bin/vessel").toString(), "--host", "unix://" + daemon.socket, "pull", image);
        ObjectNode config = JSON.createObjectNode().put("id", CONTAINER).put("image", image);
        config.putArray("args").add("sleep").add("100000");
        daemon.api.call("POST", "/v1/containers", config.toString());
        if (vm) {
            // the same image as a VM task: an exec goes through the guest agent into the guest's container
            daemon.api.call("POST", "/v1/containers", config.put("id", VM_CONTAINER).put("isolation", "VM").toString());
        }

        for (String runtime : runtimes) {
            Path bundle = OciRuntimes.bundle(work.resolve(runtime + "-bundle"), rootfs, true);
            ObjectNode tree = (ObjectNode) JSON.readTree(Files.readString(bundle.resolve("config.json")));
            ((ObjectNode) tree.get("process")).putArray("args").add("sleep").add("100000");
            Files.writeString(bundle.resolve("config.json"), JSON.writeValueAsString(tree));
            String root = work.resolve(runtime + "-state").toString();
            // ids of their own: without a cgroupsPath in the bundle, each runtime names its cgroup after the id
            Commands.run(runtime, "--root", root, "run", "-d", "--bundle", bundle.toString(), CONTAINER + "-" + runtime);
            stops.add(new String[] {runtime, "--root", root, "delete", "-f", CONTAINER + "-" + runtime});
        }
    }

    private void measure() throws Exception {
        Map<String, Rounds.Run> runs = new LinkedHashMap<>();
        runs.put("vessel-cli", () -> Commands.run(repository.resolve("bin/vessel").toString(), "--host",
                "unix://" + daemon.socket, "exec", CONTAINER, "true"));
        runs.put("vessel-api", () -> vesselApi(CONTAINER));
        if (vm) {
            runs.put("vessel-vm-cli", () -> Commands.run(repository.resolve("bin/vessel").toString(), "--host",
                    "unix://" + daemon.socket, "exec", VM_CONTAINER, "true"));
            runs.put("vessel-vm-api", () -> vesselApi(VM_CONTAINER));
        }
        for (String runtime : runtimes) {
            runs.put(runtime, () -> Commands.run(runtime, "--root", work.resolve(runtime + "-state").toString(), "exec",
                    CONTAINER + "-" + runtime, "/bin/true"));
        }
        if (!vm) {
            runs.put("cli-start", () -> Commands.run(repository.resolve("bin/vessel").toString(), "--version"));
        }
        Map<String, List<Double>> ms = Rounds.measure(runs, WARMUP, ROUNDS);
        System.out.printf(Locale.ROOT, "exec%s: true in a running container%s, start to exit, %d alternating rounds"
                + " after %d warm-up%n", vm ? "-vm" : "", vm ? " and in a VM task" : "", ROUNDS, WARMUP);
        Rounds.printTable(ms);
        List<String> vessels = vm ? List.of("vessel-vm-cli", "vessel-vm-api") : List.of("vessel-cli", "vessel-api");
        for (String vessel : vessels) {
            for (String baseline : runtimes) {
                Rounds.printComparison("exec-" + vessel.substring("vessel-".length()), ms.get(vessel), baseline,
                        ms.get(baseline));
            }
            if (vm) { // what the guest adds to the same exec into a process container
                String process = vessel.replace("-vm", "");
                Rounds.printComparison("exec-" + vessel.substring("vessel-".length()), ms.get(vessel), process,
                        ms.get(process));
            }
        }
    }

    /** The API's exec: create, start on an upgraded connection, frames read until EXIT (status 0 expected). */
    private void vesselApi(String container) throws Exception {
        String path = "/v1/containers/" + container + "/exec";
        String id = JSON.readTree(daemon.api.call("POST", path, "{\"command\":[\"true\"]}")).get("id").asText();
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(daemon.socket));
            Channels.newOutputStream(channel).write(("POST " + path + "/" + id + "/start HTTP/1.1\r\nHost: vessel\r\n"
                    + "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = Channels.newInputStream(channel);
            String head = head(in);
            if (!head.startsWith("HTTP/1.1 101")) {
                throw new IllegalStateException("vessel-api: exec start answered " + head);
            }
            for (StdioFrame f = StdioFrame.readFrom(in); ; f = StdioFrame.readFrom(in)) {
                if (f == null) {
                    throw new IllegalStateException("vessel-api: the exec's stream ended without its EXIT");
                }
                if (f.type() == StdioFrame.Type.EXIT) {
                    if (f.exitStatus() != 0) {
                        throw new IllegalStateException("vessel-api: true ended with " + f.exitStatus());
                    }
                    return;
                }
            }
        }
    }

    private static String head(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    private void tearDown() throws Exception {
        List<Commands.Step> steps = new ArrayList<>();
        for (String[] stop : stops) {
            steps.add(() -> Commands.setup(stop));
        }
        steps.add(() -> {
            if (daemon != null) {
                daemon.stop();
            }
        });
        steps.add(() -> BenchDaemon.removeCgroup(CGROUP_PARENT));
        steps.add(() -> Stats.deleteTree(work));
        Commands.allSteps(steps);
    }
}
