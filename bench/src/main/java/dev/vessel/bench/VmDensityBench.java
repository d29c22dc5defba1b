package dev.vessel.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.launcher.vm.GuestArtifacts;
import dev.vessel.linux.PosixAcls;
import dev.vessel.linux.ProcessMemory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What idle guests cost the host: QEMU's RSS and PSS ({@code /proc/PID/smaps_rollup}; PSS counts a page
 * shared by n processes as 1/n, so the sum over guests counts the shared ones once) and, of the RSS, how
 * much is guest RAM (the mapping as big as the guest's memory) rather than QEMU's own (its heap, TCG's
 * translated code, the files it maps). Six sides, each with 1 and then {@value #GUESTS} guests, one side
 * at a time so that none boots while another is measured:
 * <ul>
 * <li>{@code vessel}: VM tasks ({@code sleep}, no memory limit) started one after the other through a
 * vesseld of the bench's own, each measured once all run and {@value #SETTLE_SECONDS} s passed;</li>
 * <li>{@code vessel-tb32}: the same through a vesseld whose guests' TCG code cache is capped at 32 MiB
 * ({@code --vm-tcg-code-cache-mib}), the operator's density setting; {@code -Dbench.tcgCodeCacheMib=N} measures
 * another size (side {@code vessel-tbN});</li>
 * <li>{@code template}: the same through a vesseld that restores its VM tasks from a guest template
 * ({@code --vm-templates}, the template saved before the first task): the guests map the template's RAM
 * privately, so its pages are shared until a guest writes them;</li>
 * <li>{@code warm}: a second vesseld's warm pool of {@value #GUESTS} guests, measured once all are ready;</li>
 * <li>{@code warm-tpl}: the same with guest templates on: the pool's guests restored from the template;</li>
 * <li>{@code raw}, the baseline: plain QEMU booting the same kernel and initramfs to the agent's hello.</li>
 * </ul>
 * Per guest: the median over the guests (and over {@code bench.rounds} rounds); for 10: the sum. The host's
 * KSM is left as it is and reported with the pages it merged in each QEMU ({@code /proc/PID/ksm_merging_pages}):
 * with it on, identical pages of the guests' RAM are shared, which PSS counts (see docs/architecture.md).
 */
final class VmDensityBench {
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 1);
    private static final int GUESTS = 10;
    /** After the last guest is up: its agent's start-up garbage collected or not, the guests idle. */
    private static final int SETTLE_SECONDS = 3;
    private static final String CGROUP_PARENT = "vessel-density-bench";
    private static final String WARM_CGROUP_PARENT = "vessel-density-bench-warm";
    private static final int SMALL_CODE_CACHE_MIB = Integer.getInteger("bench.tcgCodeCacheMib", 32);
    private static final String SMALL_CACHE_SIDE = "vessel-tb" + SMALL_CODE_CACHE_MIB;
    private static final String TEMPLATE_SIDE = "template"; // short: its daemon's run dir holds sockets
    private static final String WARM_SIDE = "warm";
    private static final String WARM_TEMPLATE_SIDE = "warm-tpl";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path KSM_RUN = Path.of("/sys/kernel/mm/ksm/run");
    private static final long PAGE_BYTES = 4096;

    /** One guest's QEMU, in MiB. */
    record Memory(double rss, double pss, double guestRam, double ksmMerged) {
    }

    private final Path repository;
    private final Path work;
    private final GuestArtifacts guest;
    /** side and guest count ("vessel 1", "vessel 10", ...) to the per-guest samples and the sums */
    private final Map<String, List<Memory>> perGuest = new LinkedHashMap<>();
    private final Map<String, List<Double>> pssSums = new LinkedHashMap<>();

    private VmDensityBench(Path repository, Path work, GuestArtifacts guest) {
        this.repository = repository;
        this.work = work;
        this.guest = guest;
    }

    static void main(String[] args) throws Exception {
        Path repository = BenchDaemon.repositoryRoot("vm-density");
        GuestArtifacts guest = GuestArtifacts.load(Path.of(System.getProperty("vessel.guest.artifacts",
                "images/target/guest")));
        Path work = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-density");
        QemuUser.ofHost().allow(work, PosixAcls.EXECUTE); // QEMU's user reaches the state dirs in it
        try {
            new VmDensityBench(repository, work, guest).run();
        } finally {
            Commands.allSteps(List.of(() -> BenchDaemon.removeCgroup(CGROUP_PARENT),
                    () -> BenchDaemon.removeCgroup(WARM_CGROUP_PARENT), () -> Stats.deleteTree(work)));
        }
    }

    private void run() throws Exception {
        Path rootfs = BusyboxRootfs.create(work.resolve("rootfs"));
        String image = Commands.ociImage(work.resolve("image"), rootfs);
        for (int round = 0; round < ROUNDS; round++) {
            vesselTasks(image, round, "vessel");
            vesselTasks(image, round, SMALL_CACHE_SIDE, "--vm-tcg-code-cache-mib", Integer.toString(SMALL_CODE_CACHE_MIB));
            vesselTasks(image, round, TEMPLATE_SIDE, "--vm-templates");
            rawGuests(round);
            warmPool(round, WARM_SIDE);
            warmPool(round, WARM_TEMPLATE_SIDE, "--vm-templates");
        }
        print();
    }

    /**
     * VM tasks through a vesseld started with {@code daemonArgs}: 1, measured; 9 more, all 10 measured; all removed,
     * the daemon stopped.
     */
    private void vesselTasks(String image, int round, String side, String... daemonArgs) throws Exception {
        Path dir = Files.createDirectories(work.resolve(side + "-" + round));
        BenchDaemon daemon = BenchDaemon.start(repository, dir, CGROUP_PARENT, daemonArgs);
        try {
            Commands.setup(repository.resolve("bin/vessel").toString(), "--host", "unix://" + daemon.socket, "pull",
                    image);
            if (side.equals(TEMPLATE_SIDE)) {
                awaitGauge(daemon, "vessel_vm_template_ready", 1, 5);
            }
            List<Long> pids = new ArrayList<>();
            for (int i = 0; i < GUESTS; i++) {
                ObjectNode config = JSON.createObjectNode().put("id", "density-" + i).put("image", image)
                        .put("isolation", "VM");
                config.putArray("args").add("sleep").add("100000");
                daemon.api.call("POST", "/v1/containers", config.toString()); // returns once the task runs
                long pid = JSON.readTree(daemon.api.call("GET", "/v1/containers/density-" + i, null)).path("status")
                        .path("pid").asLong(); // an int64: a string in proto JSON
                if (pid <= 0) {
                    throw new IllegalStateException("VM task density-" + i + " runs but has no QEMU pid");
                }
                pids.add(pid);
                if (i == 0 || i == GUESTS - 1) {
                    measure(side, pids);
                }
            }
        } finally {
            daemon.stop(); // removes the tasks, then stops
        }
        requireNoQemuUnder(dir);
    }

    /** The baseline: raw QEMU guests to the agent's hello, 1 then 10. */
    private void rawGuests(int round) throws Exception {
        List<RawQemuGuest> guests = new ArrayList<>();
        try {
            for (int i = 0; i < GUESTS; i++) {
                RawQemuGuest qemu = RawQemuGuest.start(guest, work.resolve("raw-" + round + "-" + i));
                guests.add(qemu);
                qemu.awaitHello();
                if (i == 0 || i == GUESTS - 1) {
                    measure("raw", guests.stream().map(RawQemuGuest::pid).toList());
                }
            }
        } finally {
            for (RawQemuGuest qemu : guests) {
                qemu.close();
            }
        }
    }

    /** A vesseld whose warm pool keeps 10 guests, started with {@code daemonArgs} too: measured once all are ready. */
    private void warmPool(int round, String side, String... daemonArgs) throws Exception {
        Path dir = Files.createDirectories(work.resolve(side + "-" + round));
        List<String> args = new ArrayList<>(List.of("--vm-warm-pool", Integer.toString(GUESTS)));
        args.addAll(List.of(daemonArgs));
        BenchDaemon daemon = BenchDaemon.start(repository, dir, WARM_CGROUP_PARENT, args.toArray(String[]::new));
        try {
            awaitGauge(daemon, "vessel_vm_warm_guests_ready", GUESTS, 10); // the pool boots one guest at a time
            List<Long> pids = qemuPidsUnder(dir);
            if (pids.size() != GUESTS) {
                throw new IllegalStateException("expected " + GUESTS + " warm guests' QEMUs, found " + pids);
            }
            measure(side, pids);
        } finally {
            daemon.stop(); // the pool's guests go with the daemon's clean stop
        }
        requireNoQemuUnder(dir);
    }

    /** Waits until the daemon's gauge {@code name} in {@code /metrics} is {@code value}, up to {@code minutes}. */
    private static void awaitGauge(BenchDaemon daemon, String name, int value, int minutes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(minutes);
        while (gauge(daemon, name) != value) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + " did not reach " + value + " in " + minutes
                        + " minutes; the daemon's log ends with:\n" + daemon.logTail());
            }
            Thread.sleep(200);
        }
    }

    private static int gauge(BenchDaemon daemon, String name) throws IOException {
        for (String line : daemon.api.call("GET", "/metrics", null).split("\n")) {
            if (line.startsWith(name + " ")) {
                return Integer.parseInt(line.substring(line.indexOf(' ') + 1).trim());
            }
        }
        throw new IllegalStateException("/metrics has no " + name);
    }

    /** Once the guests idled a little: each one's memory, and (for several) their PSS summed. */
    private void measure(String side, List<Long> pids) throws Exception {
        Thread.sleep(TimeUnit.SECONDS.toMillis(SETTLE_SECONDS));
        String key = side + " " + pids.size();
        double sum = 0;
        for (long pid : pids) {
            Memory m = memory(pid);
            perGuest.computeIfAbsent(key, k -> new ArrayList<>()).add(m);
            sum += m.pss();
        }
        pssSums.computeIfAbsent(key, k -> new ArrayList<>()).add(sum);
    }

    /** RSS and PSS from smaps_rollup; guest RAM: the RSS of the one mapping as big as the guest's memory. */
    static Memory memory(long pid) throws IOException {
        Path proc = Path.of("/proc", Long.toString(pid));
        ProcessMemory rollup = ProcessMemory.of(pid);
        double rss = rollup.rssBytes() / (1024.0 * 1024.0);
        double pss = rollup.pssBytes() / (1024.0 * 1024.0);
        double guestRam = Double.NaN;
        long guestKib = RawQemuGuest.MEMORY_MIB * 1024;
        long mappingKib = -1;
        for (String line : Files.readAllLines(proc.resolve("smaps"))) {
            if (line.startsWith("Size:")) {
                mappingKib = kib(line);
            } else if (line.startsWith("Rss:") && mappingKib == guestKib) {
                guestRam = kib(line) / 1024.0;
            }
        }
        Path merging = proc.resolve("ksm_merging_pages"); // Linux 5.19 on
        double ksmMerged = Files.exists(merging)
                ? Long.parseLong(Files.readString(merging).strip()) * PAGE_BYTES / (1024.0 * 1024.0) : 0;
        return new Memory(rss, pss, guestRam, ksmMerged);
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("\\D", ""));
    }

    /** QEMU processes whose command line names a path under {@code dir} (their shares, sockets, logs). */
    private static List<Long> qemuPidsUnder(Path dir) throws IOException {
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                String cmdline;
                try {
                    cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                } catch (IOException gone) {
                    continue;
                }
                if (cmdline.startsWith("qemu-system") || cmdline.contains("/qemu-system")) {
                    if (cmdline.contains(dir.toString() + "/")) {
                        pids.add(Long.parseLong(p.getFileName().toString()));
                    }
                }
            }
        }
        return pids;
    }

    /** The daemon's stop must take its guests with it: a QEMU left is a failure of the run, not a number. */
    private static void requireNoQemuUnder(Path dir) throws IOException {
        List<Long> left = qemuPidsUnder(dir);
        if (!left.isEmpty()) {
            throw new IllegalStateException("QEMU processes left after the daemon stopped: " + left);
        }
    }

    /** Whether the host's KSM merges pages now ({@code run} 1); it is the host's setting, never changed here. */
    private static boolean hostKsm() {
        try {
            return Files.readString(KSM_RUN).strip().equals("1");
        } catch (IOException e) {
            return false; // a kernel without KSM
        }
    }

    private void print() {
        boolean ksm = hostKsm();
        System.out.printf(Locale.ROOT, "vm-density: idle guests' QEMU memory (TCG, %d MiB guests, no memory limit): VM tasks"
                + " (sleep) through vesseld (also with a " + SMALL_CODE_CACHE_MIB + " MiB TCG code cache: " + SMALL_CACHE_SIDE
                + "; restored from a guest template: " + TEMPLATE_SIDE + "), a warm pool's guests (booted: " + WARM_SIDE
                + "; restored from the template: " + WARM_TEMPLATE_SIDE + "), raw QEMU booting the same kernel + initramfs to the"
                + " agent's hello; %d round(s), per guest the median, settled %d s%n", RawQemuGuest.MEMORY_MIB, ROUNDS,
                SETTLE_SECONDS);
        System.out.println("host KSM: " + (ksm ? "on (identical guest pages are shared: see the KSM column)"
                : "off (" + KSM_RUN + " is not 1: no page merged)"));
        System.out.printf(Locale.ROOT, "%-12s %6s %12s %12s %16s %10s %14s%n", "side", "guests", "RSS MiB", "PSS MiB",
                "guest RAM MiB", "KSM MiB", "PSS sum MiB");
        perGuest.forEach((key, samples) -> {
            String[] parts = key.split(" ");
            System.out.printf(Locale.ROOT, "%-12s %6s %12.0f %12.0f %16.0f %10.0f %14.0f%n", parts[0], parts[1],
                    median(samples, Memory::rss), median(samples, Memory::pss), median(samples, Memory::guestRam),
                    median(samples, Memory::ksmMerged), Stats.median(pssSums.get(key)));
        });
        for (String side : List.of("vessel", SMALL_CACHE_SIDE, TEMPLATE_SIDE, WARM_SIDE, WARM_TEMPLATE_SIDE)) {
            for (int n : side.startsWith(WARM_SIDE) ? new int[] {GUESTS} : new int[] {1, GUESTS}) {
                String key = side + " " + n;
                String base = "raw " + n;
                System.out.printf(Locale.ROOT, "{\"bench\":\"vm-density%s\",\"guests\":%d,\"vessel_rss_mib\":%.0f,"
                        + "\"vessel_pss_mib\":%.0f,\"vessel_pss_sum_mib\":%.0f,\"baseline\":\"raw-qemu-to-hello\","
                        + "\"baseline_rss_mib\":%.0f,\"baseline_pss_mib\":%.0f,\"baseline_pss_sum_mib\":%.0f,"
                        + "\"ratio\":%.3f,\"host_ksm\":%b,\"runs\":%d}%n", side.equals("vessel") ? "" : "-" + side.replace("vessel-", ""), n,
                        median(perGuest.get(key), Memory::rss), median(perGuest.get(key), Memory::pss),
                        Stats.median(pssSums.get(key)), median(perGuest.get(base), Memory::rss),
                        median(perGuest.get(base), Memory::pss), Stats.median(pssSums.get(base)),
                        Stats.median(pssSums.get(key)) / Stats.median(pssSums.get(base)), ksm, ROUNDS);
            }
        }
    }

    private static double median(List<Memory> samples, java.util.function.ToDoubleFunction<Memory> field) {
        return Stats.median(samples.stream().map(m -> field.applyAsDouble(m)).toList());
    }
}
