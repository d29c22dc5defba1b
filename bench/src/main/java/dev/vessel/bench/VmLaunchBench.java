package dev.vessel.bench;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.IsolatorContext;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.launcher.vm.GuestArtifacts;
import dev.vessel.launcher.vm.VmLauncher;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.PosixAcls;
import dev.vessel.linux.ProcStat;
import dev.vessel.linux.ProcessMemory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * VM task launch-to-exit of {@code /bin/true} (the full containerizer path: VM isolators, a
 * transient libvirt domain direct-booting the guest kernel + initramfs, the guest agent, the task
 * in the guest, teardown) beside raw {@code qemu-system-x86_64} booting the same kernel and
 * initramfs, in alternating rounds of one run. The raw boot is timed to its init (the console's
 * "vessel-init: up at") and to the agent's hello on its port. Vessel's time is broken down from
 * outside: QEMU's exec (its /proc start time), the init marker and the agent's start on the
 * console (polled), the launch's return (hello + task started), the exit (task done, VM torn down).
 * QEMU's RSS is read once the task runs (Vessel) or at the hello (raw). A third side: the same task
 * served by a guest of the warm pool (booted ahead of demand, untimed), launch request to exit. A fourth: the
 * same task in a guest restored from a guest template (saved once before the rounds, untimed), launch request to
 * exit, with no guest waiting. A fifth: the warm pool of a node with templates on, whose guest was restored from
 * the template (and warmed up) instead of booted.
 */
final class VmLaunchBench {
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 5);
    /** The VM's size and root filesystem: no network, no volumes. */
    private static final List<String> ISOLATORS = List.of("vm/resources", "vm/rootfs");
    private static final Pattern UP_AT = Pattern.compile("vessel-init: up at");
    private static final Pattern AGENT_START = Pattern.compile("vessel-init: starting the guest agent");

    private final Path work;
    private final GuestArtifacts guest;
    private final Path rootfs;
    private final RuntimePaths paths;
    private final VmLauncher launcher;
    private final UnifiedContainerizer containerizer;
    /** A second node whose VM launcher keeps one guest booted ahead of demand. */
    private final VmLauncher warmLauncher;
    private final UnifiedContainerizer warmContainerizer;
    /** A third node whose VM launcher restores guests from a template. */
    private final VmLauncher templateLauncher;
    private final UnifiedContainerizer templateContainerizer;
    /** A fourth node: templates on and a warm pool of one, which they fill. */
    private final VmLauncher poolTemplateLauncher;
    private final UnifiedContainerizer poolTemplateContainerizer;
    private int launches;

    private VmLaunchBench(Path work, Path artifactsDir) throws IOException {
        this.work = work;
        this.guest = GuestArtifacts.load(artifactsDir);
        this.rootfs = BusyboxRootfs.create(work.resolve("rootfs"));
        this.paths = new RuntimePaths(work.resolve("state"), work.resolve("run"));
        this.launcher = new VmLauncher(paths, guest.applyTo(VmLauncherConfig.defaults(paths)));
        this.containerizer = node(paths, launcher);
        RuntimePaths warmPaths = new RuntimePaths(work.resolve("warm-state"), work.resolve("warm-run"));
        this.warmLauncher = new VmLauncher(warmPaths, guest.applyTo(VmLauncherConfig.defaults(warmPaths))
                .withCgroupPartition("/vessel-bench-warm-vms"));
        this.warmContainerizer = node(warmPaths, warmLauncher);
        warmLauncher.startWarmPool(1);
        RuntimePaths templatePaths = new RuntimePaths(work.resolve("template-state"), work.resolve("template-run"));
        this.templateLauncher = new VmLauncher(templatePaths, guest.applyTo(VmLauncherConfig.defaults(templatePaths))
                .withCgroupPartition("/vessel-bench-template-vms"));
        this.templateContainerizer = node(templatePaths, templateLauncher);
        templateLauncher.startTemplates();
        RuntimePaths poolTemplatePaths = new RuntimePaths(work.resolve("wtpl-state"), work.resolve("wtpl-run"));
        this.poolTemplateLauncher = new VmLauncher(poolTemplatePaths, guest.applyTo(
                VmLauncherConfig.defaults(poolTemplatePaths)).withCgroupPartition("/vessel-bench-wtpl-vms"));
        this.poolTemplateContainerizer = node(poolTemplatePaths, poolTemplateLauncher);
        poolTemplateLauncher.startTemplates();
        poolTemplateLauncher.startWarmPool(1);
    }

    private static UnifiedContainerizer node(RuntimePaths paths, VmLauncher launcher) {
        // no cgroups are created: the VM isolators need no hierarchy
        IsolatorContext context = IsolatorContext.of(paths, CgroupHierarchies.detect(), "vessel-bench")
                .withVms(new IsolatorContext.Vms(launcher.config().sizing(), launcher, launcher.qemuUser()));
        UnifiedContainerizer node = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(launcher).isolators(IsolatorCatalog.build(context, IsolatorCatalog.HOST, ISOLATORS))
                .build();
        node.recover();
        return node;
    }

    static void main(String[] args) throws Exception {
        Path artifacts = Path.of(System.getProperty("vessel.guest.artifacts", "images/target/guest"));
        Path work = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-vmbench");
        QemuUser.ofHost().allow(work, PosixAcls.EXECUTE); // QEMU's user reaches the state dirs in it
        VmLaunchBench bench = null;
        try {
            bench = new VmLaunchBench(work, artifacts);
            bench.run();
        } finally {
            if (bench != null) {
                bench.launcher.close();
                bench.warmLauncher.close();
                bench.templateLauncher.close();
                bench.poolTemplateLauncher.close();
            }
            Stats.deleteTree(work);
        }
    }

    private void run() throws Exception {
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        // one warm-up of each: page cache, libvirt's capability cache
        awaitWarmGuest(warmLauncher);
        awaitTemplate();
        awaitWarmGuest(poolTemplateLauncher);
        vessel(new LinkedHashMap<>());
        raw(new LinkedHashMap<>());
        warm(new LinkedHashMap<>());
        template(new LinkedHashMap<>());
        warmFromTemplate(new LinkedHashMap<>());
        for (int i = 0; i < ROUNDS; i++) {
            vessel(ms);
            raw(ms);
            warm(ms);
            template(ms);
            warmFromTemplate(ms);
        }
        System.out.printf(Locale.ROOT, "vm-launch: /bin/true as a VM task vs raw QEMU booting the same kernel + initramfs"
                + " (%s accelerator), %d alternating rounds after 1 warm-up%n", launcher.accelerator(), ROUNDS);
        System.out.printf(Locale.ROOT, "%-44s %9s %9s %9s%n", "step", "median", "min", "max");
        ms.forEach((step, values) -> {
            List<Double> s = values.stream().sorted().toList();
            String unit = step.endsWith("MiB") ? "" : "ms";
            System.out.printf(Locale.ROOT, "%-44s %7.0f%s %7.0f%s %7.0f%s%n", step, Stats.median(s), unit,
                    s.getFirst(), unit, s.getLast(), unit);
        });
        double vessel = Stats.median(ms.get("vessel: launch to exit (total)"));
        double toInit = Stats.median(ms.get("raw qemu: exec to init"));
        double toHello = Stats.median(ms.get("raw qemu: exec to agent hello"));
        System.out.printf(Locale.ROOT, "vessel / raw boot to init: %.2f   vessel / raw boot to agent hello: %.2f%n",
                vessel / toInit, vessel / toHello);
        double warm = Stats.median(ms.get("warm: launch to exit (total)"));
        System.out.printf(Locale.ROOT, "warm guest / raw boot to init: %.2f   warm guest / cold: %.2f%n",
                warm / toInit, warm / vessel);
        double restored = Stats.median(ms.get("template: launch to exit (total)"));
        double pooled = Stats.median(ms.get("warm-tpl: launch to exit (total)"));
        System.out.printf(Locale.ROOT, "warm guest restored from the template / booted warm guest: %.2f%n", pooled / warm);
        System.out.printf(Locale.ROOT, "template / raw boot to agent hello: %.2f   template / cold: %.2f%n",
                restored / toHello, restored / vessel);
        System.out.printf(Locale.ROOT, "{\"bench\":\"vm-launch\",\"vessel_ms\":%.0f,\"baseline\":\"qemu-to-init\","
                + "\"baseline_ms\":%.0f,\"ratio\":%.3f,\"qemu_to_hello_ms\":%.0f,\"runs\":%d}%n",
                vessel, toInit, vessel / toInit, toHello, ROUNDS);
        System.out.printf(Locale.ROOT, "{\"bench\":\"vm-launch-warm\",\"vessel_ms\":%.0f,\"baseline\":\"qemu-to-init\","
                + "\"baseline_ms\":%.0f,\"ratio\":%.3f,\"runs\":%d}%n", warm, toInit, warm / toInit, ROUNDS);
        System.out.printf(Locale.ROOT, "{\"bench\":\"vm-launch-template\",\"vessel_ms\":%.0f,"
                + "\"baseline\":\"qemu-to-hello\",\"baseline_ms\":%.0f,\"ratio\":%.3f,\"runs\":%d}%n", restored,
                toHello, restored / toHello, ROUNDS);
        System.out.printf(Locale.ROOT, "{\"bench\":\"vm-launch-warm-tpl\",\"vessel_ms\":%.0f,\"baseline\":\"qemu-to-init\","
                + "\"baseline_ms\":%.0f,\"ratio\":%.3f,\"booted_warm_ms\":%.0f,\"runs\":%d}%n", pooled, toInit,
                pooled / toInit, warm, ROUNDS);
    }

    /** One VM task in a guest restored from the template (saved before the rounds), launch request to exit. */
    private void template(Map<String, List<Double>> ms) throws Exception {
        launchToExit(templateContainerizer, "template", "restore + task started", ms);
    }

    /**
     * One VM task through {@code node}, timed from the launch request to its start ({@code startStep}) and to its
     * exit, under {@code side}'s steps, with its QEMU's RSS.
     */
    private void launchToExit(UnifiedContainerizer node, String side, String startStep, Map<String, List<Double>> ms)
            throws Exception {
        String id = side + "-" + launches++;
        long t0 = System.nanoTime();
        node.launch(ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM)
                .setHostRootfs(rootfs.toString()).addCommand("/bin/true").build());
        long launched = System.nanoTime();
        double rss = rssMiB(node.status(id).getPid());
        Termination t = node.wait(id).get(5, TimeUnit.MINUTES);
        long exited = System.nanoTime();
        node.remove(id);
        if (t.getExitCode() != 0) {
            throw new IllegalStateException("the " + side + " VM task failed: " + t);
        }
        add(ms, side + ": " + startStep, (launched - t0) / 1e6);
        add(ms, side + ": task exit seen (incl. VM teardown)", (exited - launched) / 1e6);
        add(ms, side + ": launch to exit (total)", (exited - t0) / 1e6);
        add(ms, side + ": QEMU RSS, MiB", rss);
    }

    private void awaitTemplate() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (templateLauncher.guestTemplate().isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no guest template was saved in 3 minutes");
            }
            Thread.sleep(20);
        }
    }

    /**
     * One VM task served by the warm guest, timed from the launch request to the exit. The guest was
     * booted before (untimed, as a pool does between tasks); the next round waits for its replacement,
     * so that no boot runs during another measurement.
     */
    private void warm(Map<String, List<Double>> ms) throws Exception {
        launchToExit(warmContainerizer, "warm", "hand-over + task started", ms);
        awaitWarmGuest(warmLauncher);
    }

    /** As {@link #warm}, from the pool of the node with templates on: its guests are restored, not booted. */
    private void warmFromTemplate(Map<String, List<Double>> ms) throws Exception {
        launchToExit(poolTemplateContainerizer, "warm-tpl", "hand-over + task started", ms);
        awaitWarmGuest(poolTemplateLauncher);
    }

    private static void awaitWarmGuest(VmLauncher node) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (node.warmGuestsReady() < 1) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no warm guest became ready in 3 minutes");
            }
            Thread.sleep(20);
        }
    }

    /** One VM task through the containerizer, timed from outside. */
    private void vessel(Map<String, List<Double>> ms) throws Exception {
        String id = "bench-" + launches++;
        Path console = paths.consoleLog(paths.containerDir(List.of(id)));
        ConsoleWatch watch = new ConsoleWatch(console);
        long t0 = System.nanoTime();
        long wall0 = System.currentTimeMillis();
        watch.start();
        containerizer.launch(ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM)
                .setHostRootfs(rootfs.toString()).addCommand("/bin/true").build());
        long launched = System.nanoTime();
        long qemuPid = containerizer.status(id).getPid();
        double rss = rssMiB(qemuPid);
        long qemuExecWall = processStartWallMillis(qemuPid);
        Termination t = containerizer.wait(id).get(5, TimeUnit.MINUTES);
        long exited = System.nanoTime();
        containerizer.remove(id);
        long removed = System.nanoTime();
        watch.stop();
        if (t.getExitCode() != 0) {
            throw new IllegalStateException("the VM task failed: " + t);
        }
        double qemuExec = qemuExecWall - wall0;
        double upAt = (watch.seen(UP_AT) - t0) / 1e6;
        double agentStart = (watch.seen(AGENT_START) - t0) / 1e6;
        add(ms, "vessel: define + start domain (to QEMU exec)", qemuExec);
        add(ms, "vessel: firmware + kernel boot (to init)", upAt - qemuExec);
        add(ms, "vessel: init (to agent JVM exec)", agentStart - upAt);
        add(ms, "vessel: JVM + hello + task started", (launched - t0) / 1e6 - agentStart);
        add(ms, "vessel: task exit seen (incl. VM teardown)", (exited - launched) / 1e6);
        add(ms, "vessel: remove", (removed - exited) / 1e6);
        add(ms, "vessel: launch to exit (total)", (exited - t0) / 1e6);
        add(ms, "vessel: QEMU RSS, MiB", rss);
    }

    /** The same kernel and initramfs under plain QEMU, with the agent's port: to init, and to hello. */
    private void raw(Map<String, List<Double>> ms) throws Exception {
        long t0 = System.nanoTime();
        try (RawQemuGuest qemu = RawQemuGuest.start(guest, work.resolve("raw-" + launches++))) {
            ConsoleWatch watch = new ConsoleWatch(qemu.console);
            watch.start();
            try {
                qemu.awaitHello();
                long hello = System.nanoTime();
                add(ms, "raw qemu: exec to init", (watch.seen(UP_AT) - t0) / 1e6);
                add(ms, "raw qemu: exec to agent hello", (hello - t0) / 1e6);
                add(ms, "raw qemu: QEMU RSS, MiB", rssMiB(qemu.pid()));
            } finally {
                watch.stop();
            }
        }
    }

    private static void add(Map<String, List<Double>> ms, String step, double value) {
        ms.computeIfAbsent(step, k -> new ArrayList<>()).add(value);
    }

    private static double rssMiB(long pid) throws IOException {
        return ProcessMemory.of(pid).rssBytes() / (1024.0 * 1024);
    }

    /** When the process started, in wall-clock milliseconds (from /proc: clock ticks since boot). */
    private static long processStartWallMillis(long pid) throws IOException {
        long startTicks = ProcStat.of(pid).orElseThrow(() -> new IOException("process " + pid + " is gone"))
                .startTicks();
        double uptime = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
        long bootWall = System.currentTimeMillis() - (long) (uptime * 1000);
        return bootWall + startTicks * 1000 / ProcStat.TICKS_PER_SECOND;
    }

    /** Polls a console log and notes, for each marker, when it first appeared (System.nanoTime). */
    private static final class ConsoleWatch {
        private final Path file;
        private final Map<Pattern, Long> seen = new java.util.concurrent.ConcurrentHashMap<>();
        private volatile boolean running = true;
        private Thread thread;

        ConsoleWatch(Path file) {
            this.file = file;
        }

        void start() {
            thread = Thread.ofPlatform().daemon().start(() -> {
                while (running) {
                    try {
                        if (Files.exists(file)) {
                            String text = Files.readString(file);
                            long now = System.nanoTime();
                            for (Pattern p : List.of(UP_AT, AGENT_START)) {
                                Matcher m = p.matcher(text);
                                if (m.find()) {
                                    seen.putIfAbsent(p, now);
                                }
                            }
                        }
                        Thread.sleep(2);
                    } catch (IOException | InterruptedException e) {
                        return;
                    }
                }
            });
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join();
        }

        long seen(Pattern marker) {
            Long at = seen.get(marker);
            if (at == null) {
                throw new IllegalStateException("the console never showed '" + marker + "' in " + file);
            }
            return at;
        }
    }
}
