package dev.vessel.bench;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.CloudInit;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.VmMachine;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.IsolatorContext;
import dev.vessel.isolators.network.PluginRunner;
import dev.vessel.launcher.vm.GuestArtifacts;
import dev.vessel.launcher.vm.VmLauncher;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.launcher.vm.domain.Accelerator;
import dev.vessel.launcher.vm.domain.CpuTuning;
import dev.vessel.launcher.vm.domain.MachineDomainXml;
import dev.vessel.launcher.vm.domain.MachineSpec;
import dev.vessel.launcher.vm.domain.VmSpec;
import dev.vessel.launcher.vm.machine.BaseImage;
import dev.vessel.launcher.vm.machine.MachineDisk;
import dev.vessel.launcher.vm.machine.NoCloudSeed;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.PosixAcls;
import dev.vessel.linux.ProcessMemory;
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
 * serial console), through Vessel (containerizer, CNI and VM isolators, base image check, overlay,
 * seed, QEMU access, domain) beside {@code virsh create} of the same domain (the same kind of overlay
 * on the same base, the same seed) made by hand, in alternating rounds of one run. QEMU's RSS is read
 * when the marker appears.
 *
 * <p>Each side's guest has a virtio NIC on a Linux bridge in the host's namespace, with a static address
 * from its seed's network-config. Vessel's container is on a CNI network, as a user's VM is: the bridge
 * plugin with host-local IPAM, and the CNI ADD and the tap ({@code vm/network}) are inside its time. The
 * virsh side is what an admin does for the same before the clock starts: a bridge and a tap on it,
 * which the domain's {@code <interface type='ethernet'>} opens; the guest's address is on another
 * subnet. Neither bridge has an address, a route or NAT (no {@code isGateway}, no {@code ipMasq}), so
 * the host's own network and firewall are untouched and nothing leaves the bridges. The guest prints its
 * addresses with the marker, and a round whose guest lacks its address fails. Bridges, tap, CNI state
 * and domains go at the end, also after a failed round.
 */
final class FullVmBench {
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 3);
    private static final String MARKER = "VESSEL-BENCH-RUNCMD";
    /** The marker, then the guest's addresses, which show that its NIC was configured. */
    private static final String USER_DATA = "#cloud-config\nruncmd:\n  - [sh, -c, 'echo " + MARKER
            + " $(hostname -I) > /dev/ttyS0']\n";
    private static final long MEMORY = 1024L << 20;
    // Names of links the bench makes in the host's namespace (and refuses to start if they exist).
    private static final String CNI_NETWORK = "vessel-bench";
    private static final String CNI_BRIDGE = "vbcni0";
    private static final String VIRSH_BRIDGE = "vbvirsh0";
    private static final String VIRSH_TAP = "vbvirsh0t";
    /** The virsh guest's NIC: what host-local would give on a subnet apart from the CNI network's. */
    private static final GuestInterface VIRSH_NIC = GuestInterface.newBuilder().setMac("52:54:00:b7:0e:02")
            .setMtu(1500).addAddresses("10.89.72.2/24").build();

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
        Path cniConfigs = Files.createDirectories(work.resolve("net.d"));
        // host-local keeps its leases here, not in /var/lib/cni, so they go with the work directory
        Files.writeString(cniConfigs.resolve("10-" + CNI_NETWORK + ".conflist"), """
                {"cniVersion": "1.0.0", "name": "%s", "plugins": [
                  {"type": "bridge", "bridge": "%s", "isGateway": false, "ipMasq": false,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.89.71.0/24"}]], "dataDir": "%s"}}]}
                """.formatted(CNI_NETWORK, CNI_BRIDGE, work.resolve("ipam")));
        IsolatorContext context = IsolatorContext.of(paths, CgroupHierarchies.detect(), "vessel-bench")
                .withCni(new IsolatorContext.Cni(cniConfigs, List.of(Path.of("/usr/lib/cni")), PluginRunner.DIRECT))
                .withVms(new IsolatorContext.Vms(launcher.config().sizing(), launcher, launcher.qemuUser()));
        this.containerizer = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(launcher).isolators(IsolatorCatalog.build(context, IsolatorCatalog.HOST,
                        List.of("network/cni", "vm/resources", "vm/rootfs", "vm/network")))
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
        List<String> links = List.of(VIRSH_TAP, VIRSH_BRIDGE, CNI_BRIDGE);
        for (String link : links) { // before anything is made: the cleanup below must delete only the bench's own
            if (Files.exists(Path.of("/sys/class/net", link))) {
                throw new IllegalStateException("a network interface " + link + " exists already: is another"
                        + " full-vm bench running?");
            }
        }
        Path work = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-fullvm-bench");
        QemuUser qemu = QemuUser.ofHost();
        qemu.allow(work, PosixAcls.EXECUTE);
        FullVmBench bench = null;
        try {
            // the virsh side's network, as an admin prepares it: a bridge, and a tap on it for QEMU's user
            run("ip", "link", "add", VIRSH_BRIDGE, "type", "bridge");
            run("ip", "link", "set", VIRSH_BRIDGE, "up");
            run("ip", "tuntap", "add", "dev", VIRSH_TAP, "mode", "tap", "user", Integer.toString(qemu.uid()));
            run("ip", "link", "set", VIRSH_TAP, "master", VIRSH_BRIDGE, "up");
            bench = new FullVmBench(work, artifacts, Path.of(image.getProperty("disk")));
            bench.run();
        } finally {
            if (bench != null) {
                bench.launcher.close();
            }
            // CNI's DEL leaves the bridge the plugin made, as it does for every network
            for (String link : links) {
                if (Files.exists(Path.of("/sys/class/net", link))) {
                    run("ip", "link", "del", link);
                }
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
                + " of the same domain (%s accelerator, 1 vCPU, 1 GiB, a virtio NIC on a host bridge on each side:"
                + " Vessel's through CNI, virsh's on a tap made beforehand), %d alternating rounds%n",
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
                + "\"nic\":true,\"runs\":%d}%n", vessel, virsh, vessel / virsh,
                Stats.median(ms.get("vessel: QEMU RSS, MiB")), Stats.median(ms.get("virsh: QEMU RSS, MiB")), ROUNDS);
    }

    /**
     * One boot through the containerizer: the request, the checks, the CNI ADD, the tap, the overlay, the
     * seed, the domain. A launch that fails undoes itself; after it, destroy releases the network.
     */
    private void vessel(Map<String, List<Double>> ms) throws Exception {
        String id = "fullvm-" + boots++;
        Path console = paths.consoleLog(paths.containerDir(List.of(id)));
        long t0 = System.nanoTime();
        containerizer.launch(ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).setHostname("bench")
                .addNetworks(NetworkAttachment.newBuilder().setNetwork(CNI_NETWORK))
                .setVm(VmOptions.newBuilder().setVcpus(1).setMemoryBytes(MEMORY).setMachine(VmMachine.newBuilder()
                        .setBaseImage(base.path().toString()).setBaseFormat("qcow2")
                        .setDisk(work.resolve(id + ".qcow2").toString())
                        .setCloudInit(CloudInit.newBuilder().setUserData(USER_DATA))))
                .build());
        long launched = System.nanoTime();
        long done;
        double rss;
        try {
            String marker = awaitMarker(console);
            done = System.nanoTime();
            var status = containerizer.status(id);
            rss = rssMiB(status.getPid());
            requireAddress(marker, status.getIpAddresses(0));
        } finally {
            containerizer.destroy(id);
            containerizer.remove(id);
        }
        add(ms, "vessel: request to QEMU started", (launched - t0) / 1e6);
        add(ms, "vessel: request to runcmd", (done - t0) / 1e6);
        add(ms, "vessel: QEMU RSS, MiB", rss);
    }

    /**
     * The same domain by hand: overlay and seed made before the clock starts, then virsh create (its NIC on
     * the tap made before the rounds).
     */
    private void virsh(Map<String, List<Double>> ms) throws Exception {
        String name = "vessel-bench-virsh-" + boots++;
        Path dir = Files.createDirectories(work.resolve(name));
        Path disk = dir.resolve("disk.qcow2");
        Path seed = dir.resolve("seed.iso");
        Path console = dir.resolve("console.log");
        MachineDisk.ensure(disk, base, 0);
        NoCloudSeed.write(seed, name, "bench", USER_DATA, List.of(), List.of(VIRSH_NIC));
        QemuUser qemu = launcher.qemuUser();
        qemu.allow(dir, PosixAcls.READ | PosixAcls.WRITE | PosixAcls.EXECUTE);
        qemu.allow(disk, PosixAcls.READ | PosixAcls.WRITE);
        // libvirt's own partition and another state dir: a domain of libvirt's defaults, none of this node's
        Path xml = Files.writeString(dir.resolve("domain.xml"), MachineDomainXml.render(new MachineSpec(name,
                dir, name, UUID.randomUUID(), launcher.accelerator() == Accelerator.KVM ? Accelerator.KVM
                : Accelerator.TCG, qemu, MEMORY, 1, CpuTuning.NONE, disk, base, Optional.of(seed), console,
                "/machine", List.of(), List.of(new VmSpec.Nic(VIRSH_TAP, VIRSH_NIC.getMac())),
                VmSpec.Passthrough.NONE)));
        long t0 = System.nanoTime();
        run("virsh", "-c", "qemu:///system", "create", xml.toString());
        long done;
        double rss;
        try {
            String marker = awaitMarker(console);
            done = System.nanoTime();
            rss = rssMiB(Long.parseLong(Files.readString(Path.of("/run/libvirt/qemu", name + ".pid")).trim()));
            requireAddress(marker, VIRSH_NIC.getAddresses(0).split("/")[0]);
        } finally {
            run("virsh", "-c", "qemu:///system", "destroy", name);
        }
        add(ms, "virsh create: exec to runcmd", (done - t0) / 1e6);
        add(ms, "virsh: QEMU RSS, MiB", rss);
    }

    /** Waits for the marker's whole line on the console (the guest's UART sends it byte by byte) and returns it. */
    private static String awaitMarker(Path console) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(6);
        while (true) {
            String printed = Files.exists(console) ? Files.readString(console, StandardCharsets.ISO_8859_1) : "";
            int at = printed.indexOf(MARKER);
            int end = at < 0 ? -1 : printed.indexOf('\n', at);
            if (end > 0) {
                return printed.substring(at, end).strip();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no runcmd marker on " + console + " within 6 minutes");
            }
            Thread.sleep(20);
        }
    }

    /** The guest printed {@code address} with the marker: cloud-init configured its NIC from the seed. */
    private static void requireAddress(String markerLine, String address) {
        if (!List.of(markerLine.split("\\s+")).contains(address)) {
            throw new IllegalStateException("the guest did not have its address " + address + " at runcmd: '"
                    + markerLine + "'");
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
        return ProcessMemory.of(pid).rssBytes() / (1024.0 * 1024);
    }

    private static void add(Map<String, List<Double>> ms, String step, double value) {
        ms.computeIfAbsent(step, k -> new ArrayList<>()).add(value);
    }
}
