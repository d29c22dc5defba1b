package dev.vessel.bench;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.CloudInit;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.VmMachine;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.IsolatorContext;
import dev.vessel.isolators.cgroups.CgroupHierarchies;
import dev.vessel.launcher.vm.GuestArtifacts;
import dev.vessel.launcher.vm.VmLauncher;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.launcher.vm.domain.Accelerator;
import dev.vessel.launcher.vm.domain.MachineDomainXml;
import dev.vessel.launcher.vm.domain.MachineSpec;
import dev.vessel.launcher.vm.domain.VmSpec;
import dev.vessel.launcher.vm.machine.BaseImage;
import dev.vessel.launcher.vm.machine.MachineDisk;
import dev.vessel.launcher.vm.machine.NoCloudSeed;
import dev.vessel.linux.PosixAcls;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A full VM from the Debian cloud image, from the request to cloud-init's runcmd (a marker on the
 * serial console), through Vessel (containerizer, VM isolators, base image check, overlay, seed, QEMU
 * access, domain) beside {@code virsh create} of the same domain (the same kind of overlay on the same
 * base, the same seed, no NIC on either side) made by hand, in alternating rounds of one run. QEMU's
 * RSS is read when the marker appears.
 */
final class FullVmBench {
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 3);
    private static final String MARKER = "VESSEL-BENCH-RUNCMD";
    private static final String USER_DATA = "#cloud-config\nruncmd:\n  - [sh, -c, 'echo " + MARKER + " > /dev/ttyS0']\n";
    private static final long MEMORY = 1024L << 20;

    private final Path work;
    private final BaseImage base;
    private final RuntimePaths paths;
    private final VmLauncher launcher;
    private final UnifiedContainerizer containerizer;
    private int boots;

    private FullVmBench(Path work, Path artifactsDir, Path cloudImage) throws IOException {
        this.work = work;
        this.base = BaseImage.inspect(cloudImage, "qcow2");
        this.paths = new RuntimePaths(work.resolve("state"), work.resolve("run"));
        this.launcher = new VmLauncher(paths, GuestArtifacts.load(artifactsDir).applyTo(VmLauncherConfig.defaults(paths)));
        IsolatorContext context = IsolatorContext.of(paths, CgroupHierarchies.detect(), "vessel-bench")
                .withVms(new IsolatorContext.Vms(launcher.config().sizing(), launcher, launcher.qemuUser()));
        this.containerizer = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(launcher).isolators(IsolatorCatalog.build(context, IsolatorCatalog.HOST,
                        List.of("vm/resources", "vm/rootfs")))
                .build();
        containerizer.recover();
    }

    static void main(String[] args) throws Exception {
        Path artifacts = Path.of(System.getProperty("vessel.guest.artifacts", "images/target/guest"));
        Properties image = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(System.getProperty("vessel.cloud.image",
                "images/target/cloud/image.properties")))) {
            image.load(in);
        }
        Path work = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-fullvm-bench");
        QemuUser.ofHost().allow(work, PosixAcls.EXECUTE);
        FullVmBench bench = null;
        try {
            bench = new FullVmBench(work, artifacts, Path.of(image.getProperty("disk")));
            bench.run();
        } finally {
            if (bench != null) {
                bench.launcher.close();
            }
            Stats.deleteTree(work);
        }
    }

    private void run() throws Exception {
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        for (int i = 0; i < ROUNDS; i++) {
            vessel(ms);
            virsh(ms);
        }
        System.out.printf(Locale.ROOT, "full-vm: Debian 12 cloud image to cloud-init's runcmd, Vessel vs virsh create"
                + " of the same domain (%s accelerator, 1 vCPU, 1 GiB, no NIC), %d alternating rounds%n",
                launcher.accelerator(), ROUNDS);
        System.out.printf(Locale.ROOT, "%-36s %9s %9s %9s%n", "step", "median", "min", "max");
        ms.forEach((step, values) -> {
            List<Double> s = values.stream().sorted().toList();
            String unit = step.endsWith("MiB") ? "" : "ms";
            System.out.printf(Locale.ROOT, "%-36s %7.0f%s %7.0f%s %7.0f%s%n", step, Stats.median(s), unit,
                    s.getFirst(), unit, s.getLast(), unit);
        });
        double vessel = Stats.median(ms.get("vessel: request to runcmd"));
        double virsh = Stats.median(ms.get("virsh create: exec to runcmd"));
        System.out.printf(Locale.ROOT, "{\"bench\":\"full-vm\",\"vessel_ms\":%.0f,\"baseline\":\"virsh-create\","
                + "\"baseline_ms\":%.0f,\"ratio\":%.3f,\"vessel_qemu_rss_mib\":%.0f,\"baseline_qemu_rss_mib\":%.0f,"
                + "\"runs\":%d}%n", vessel, virsh, vessel / virsh, Stats.median(ms.get("vessel: QEMU RSS, MiB")),
                Stats.median(ms.get("virsh: QEMU RSS, MiB")), ROUNDS);
    }

    /** One boot through the containerizer: the request, the checks, the overlay, the seed, the domain. */
    private void vessel(Map<String, List<Double>> ms) throws Exception {
        String id = "fullvm-" + boots++;
        Path console = paths.consoleLog(paths.containerDir(List.of(id)));
        long t0 = System.nanoTime();
        containerizer.launch(ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).setHostname("bench")
                .setVm(VmOptions.newBuilder().setVcpus(1).setMemoryBytes(MEMORY).setMachine(VmMachine.newBuilder()
                        .setBaseImage(base.path().toString()).setBaseFormat("qcow2")
                        .setDisk(work.resolve(id + ".qcow2").toString())
                        .setCloudInit(CloudInit.newBuilder().setUserData(USER_DATA))))
                .build());
        long launched = System.nanoTime();
        awaitMarker(console);
        long done = System.nanoTime();
        double rss = rssMiB(containerizer.status(id).getPid());
        containerizer.destroy(id);
        containerizer.remove(id);
        add(ms, "vessel: request to QEMU started", (launched - t0) / 1e6);
        add(ms, "vessel: request to runcmd", (done - t0) / 1e6);
        add(ms, "vessel: QEMU RSS, MiB", rss);
    }

    /** The same domain by hand: overlay and seed made before the clock starts, then virsh create. */
    private void virsh(Map<String, List<Double>> ms) throws Exception {
        String name = "vessel-bench-virsh-" + boots++;
        Path dir = Files.createDirectories(work.resolve(name));
        Path disk = dir.resolve("disk.qcow2");
        Path seed = dir.resolve("seed.iso");
        Path console = dir.resolve("console.log");
        MachineDisk.ensure(disk, base, 0);
        NoCloudSeed.write(seed, name, "bench", USER_DATA, List.of(), List.of());
        QemuUser qemu = launcher.qemuUser();
        qemu.allow(dir, PosixAcls.READ | PosixAcls.WRITE | PosixAcls.EXECUTE);
        qemu.allow(disk, PosixAcls.READ | PosixAcls.WRITE);
        // libvirt's own partition and another state dir: a domain of libvirt's defaults, none of this node's
        Path xml = Files.writeString(dir.resolve("domain.xml"), MachineDomainXml.render(new MachineSpec(name,
                dir, name, UUID.randomUUID(), launcher.accelerator() == Accelerator.KVM ? Accelerator.KVM
                : Accelerator.TCG, qemu, MEMORY, 1, disk, base, Optional.of(seed), console,
                "/machine", List.of(), List.of(), VmSpec.Passthrough.NONE)));
        long t0 = System.nanoTime();
        run("virsh", "-c", "qemu:///system", "create", xml.toString());
        awaitMarker(console);
        long done = System.nanoTime();
        double rss = rssMiB(Long.parseLong(Files.readString(Path.of("/run/libvirt/qemu", name + ".pid")).trim()));
        run("virsh", "-c", "qemu:///system", "destroy", name);
        add(ms, "virsh create: exec to runcmd", (done - t0) / 1e6);
        add(ms, "virsh: QEMU RSS, MiB", rss);
    }

    private static void awaitMarker(Path console) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(6);
        while (!(Files.exists(console) && Files.readString(console, StandardCharsets.ISO_8859_1).contains(MARKER))) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no runcmd marker on " + console + " within 6 minutes");
            }
            Thread.sleep(20);
        }
    }

    private static void run(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", argv) + " failed: " + out);
        }
    }

    private static double rssMiB(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }

    private static void add(Map<String, List<Double>> ms, String step, double value) {
        ms.computeIfAbsent(step, k -> new ArrayList<>()).add(value);
    }
}
