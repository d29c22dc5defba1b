package dev.vessel.core.gpu;

import dev.vessel.linux.DeviceNodes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A host's GPUs as the kernel and the NVIDIA driver show them, built in a test directory: a sysfs tree
 * shaped like a real one (devices under {@code devices/pci…/}, {@code bus/pci/devices/*} links to them,
 * {@code driver} and {@code iommu_group} links, {@code kernel/iommu_groups/N/devices/*}), the driver's
 * {@code driver/nvidia/gpus/<address>/information} files, and a dev tree of real character nodes made
 * with mknod.
 *
 * <p>The machine: three NVIDIA GPUs (two H100 and an H200, like an HGX board's) of which two share
 * their IOMMU group with an audio function and one is alone in its group; an AMD GPU whose group also
 * holds a PCI bridge (no VM can take it); an Intel integrated GPU; an ISA bridge and a NIC that are no
 * GPUs. The NVIDIA nodes carry the numbers of harmless real devices a default container may not open
 * ({@code /dev/net/tun}, {@code /dev/fuse}…), so a container given one can really open it without an
 * NVIDIA driver, and the devices cgroup visibly decides. Needs root (mknod).
 */
public final class FakeGpuHost {
    public static final String H100_A = "0000:41:00.0";
    public static final String H100_A_AUDIO = "0000:41:00.1";
    public static final String H200_B = "0000:c1:00.0";
    public static final String H200_B_AUDIO = "0000:c1:00.1";
    public static final String H100_ALONE = "0000:61:00.0";
    public static final String AMD = "0000:03:00.0";
    public static final String AMD_AUDIO = "0000:03:00.1";
    public static final String AMD_BRIDGE = "0000:02:00.0";
    public static final String INTEL = "0000:00:02.0";
    public static final String ISA_BRIDGE = "0000:00:1f.0";
    public static final String NIC = "0000:05:00.0";

    /** Each NVIDIA GPU's node: name, the real device's major:minor it is given. */
    public record Node(String name, int major, int minor) {
    }

    /** /dev/nvidia0..2: /dev/net/tun, /dev/fuse, /dev/loop-control. */
    public static final List<Node> GPU_NODES = List.of(new Node("nvidia0", 10, 200), new Node("nvidia1", 10, 229),
            new Node("nvidia2", 10, 237));
    /** The control nodes: btrfs-control, vga_arbiter, userfaultfd, kvm. */
    public static final List<Node> CONTROL_NODES = List.of(new Node("nvidiactl", 10, 234),
            new Node("nvidia-modeset", 10, 256), new Node("nvidia-uvm", 10, 257), new Node("nvidia-uvm-tools", 10, 232));

    public static final String DRIVER_VERSION = "550.54.15";

    /** Each NVIDIA GPU's BAR1 (64-bit); with its 32 MiB BAR3, its 64-bit MMIO. */
    public static final long H100_BAR1_BYTES = 128L << 30;
    public static final long NVIDIA_MMIO64_BYTES = H100_BAR1_BYTES + (32L << 20);

    private final Path root;

    private FakeGpuHost(Path root) {
        this.root = root;
    }

    /** The tree under {@code dir} (made if missing). */
    public static FakeGpuHost create(Path dir) throws IOException {
        FakeGpuHost host = new FakeGpuHost(dir);
        host.build();
        return host;
    }

    public Path sysfs() {
        return root.resolve("sys");
    }

    public Path proc() {
        return root.resolve("proc");
    }

    public Path dev() {
        return root.resolve("dev");
    }

    public GpuDiscovery discovery() {
        return new GpuDiscovery(sysfs(), proc(), dev());
    }

    /** The UUID the NVIDIA driver reports for the GPU at {@code address}. */
    public static String uuid(String address) {
        return "GPU-" + address.replace(":", "").replace(".", "") + "-7c1e-4d2a-9b1f-00c0ffee0000";
    }

    private void build() throws IOException {
        nvidiaGpu(H100_A, "pci0000:40/0000:40:01.1", 0x2330, "NVIDIA H100 80GB HBM3", 0, 28, 0);
        function(H100_A_AUDIO, "pci0000:40/0000:40:01.1", 0x040300, 0x10de, 0x22a3, 0, "snd_hda_intel", 28);
        nvidiaGpu(H200_B, "pci0000:c0/0000:c0:01.1", 0x2335, "NVIDIA H200", 1, 71, 1);
        function(H200_B_AUDIO, "pci0000:c0/0000:c0:01.1", 0x040300, 0x10de, 0x22a3, 1, "snd_hda_intel", 71);
        nvidiaGpu(H100_ALONE, "pci0000:60/0000:60:03.1", 0x2330, "NVIDIA H100 80GB HBM3", 0, 44, 2);
        // an AMD card behind its own switch port: the bridge lands in the GPU's group
        function(AMD_BRIDGE, "pci0000:00/0000:00:01.1", 0x060400, 0x1002, 0x1478, -1, "pcieport", 13);
        function(AMD, "pci0000:00/0000:00:01.1/0000:02:00.0", 0x030000, 0x1002, 0x744c, -1, "amdgpu", 13);
        function(AMD_AUDIO, "pci0000:00/0000:00:01.1/0000:02:00.0", 0x040300, 0x1002, 0xab30, -1, "snd_hda_intel", 13);
        function(INTEL, "pci0000:00", 0x030000, 0x8086, 0x56a0, -1, "i915", 1);
        function(ISA_BRIDGE, "pci0000:00", 0x060100, 0x8086, 0x7a06, -1, null, 2);
        function(NIC, "pci0000:00/0000:00:1c.0", 0x020000, 0x8086, 0x1533, -1, "igb", 15);
        for (Node node : CONTROL_NODES) {
            mknod(node);
        }
    }

    private void nvidiaGpu(String address, String parent, int device, String model, int numaNode, int group, int minor)
            throws IOException {
        function(address, parent, 0x030200, 0x10de, device, numaNode, "nvidia", group);
        Path info = proc().resolve("driver/nvidia/gpus").resolve(address).resolve("information");
        Files.createDirectories(info.getParent());
        Files.writeString(info, "Model: \t\t " + model + "\nIRQ:   \t\t " + (120 + minor) + "\nGPU UUID: \t "
                + uuid(address) + "\nVideo BIOS: \t 96.00.99.00.01\nBus Type: \t PCIe\nDMA Size: \t 52 bits\n"
                + "DMA Mask: \t 0xfffffffffffff\nBus Location: \t " + address + "\nDevice Minor: \t " + minor
                + "\nGPU Excluded:\t No\n");
        mknod(GPU_NODES.get(minor));
        // BAR0 16 MiB (32-bit), BAR1 128 GiB and BAR3 32 MiB (64-bit, prefetchable), as an H100's
        Path bus = sysfs().resolve("bus/pci/devices").resolve(address);
        Files.writeString(bus.resolve("resource"), resource(0xa8000000L, 16L << 20, 0x40200)
                + resource(0x220000000000L, H100_BAR1_BYTES, 0x14220c) + resource(0, 0, 0)
                + resource(0x222000000000L, 32L << 20, 0x14220c) + resource(0, 0, 0).repeat(9));
    }

    /** One line of sysfs {@code resource}: start, end, flags. */
    private static String resource(long start, long size, long flags) {
        return String.format("0x%016x 0x%016x 0x%016x%n", start, size == 0 ? 0 : start + size - 1, flags);
    }

    /** One PCI function: its directory under devices/, its bus/pci/devices link and its group's link. */
    private void function(String address, String parent, int pciClass, int vendor, int device, int numaNode,
            String driver, int group) throws IOException {
        Path dir = sysfs().resolve("devices").resolve(parent).resolve(address);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("class"), String.format("0x%06x\n", pciClass));
        Files.writeString(dir.resolve("vendor"), String.format("0x%04x\n", vendor));
        Files.writeString(dir.resolve("device"), String.format("0x%04x\n", device));
        Files.writeString(dir.resolve("numa_node"), numaNode + "\n");
        String up = "../".repeat(depth(sysfs(), dir)); // from the device directory back to the sysfs root
        if (driver != null) {
            Files.createDirectories(sysfs().resolve("bus/pci/drivers").resolve(driver));
            Files.createSymbolicLink(dir.resolve("driver"), Path.of(up + "bus/pci/drivers/" + driver));
        }
        Path groupDir = sysfs().resolve("kernel/iommu_groups").resolve(Integer.toString(group));
        Files.createDirectories(groupDir.resolve("devices"));
        Files.createSymbolicLink(dir.resolve("iommu_group"), Path.of(up + "kernel/iommu_groups/" + group));
        Path relative = Path.of("devices").resolve(parent).resolve(address);
        Files.createSymbolicLink(groupDir.resolve("devices").resolve(address), Path.of("../../../../").resolve(relative));
        Files.createDirectories(sysfs().resolve("bus/pci/devices"));
        Files.createSymbolicLink(sysfs().resolve("bus/pci/devices").resolve(address), Path.of("../../../").resolve(relative));
    }

    /**
     * Binds the function at {@code address} to another driver, as a rebinding would (vfio-pci, or none):
     * its driver link changes and the NVIDIA driver no longer lists it.
     */
    public void bindDriver(String address, String driver) throws IOException {
        Path link = sysfs().resolve("bus/pci/devices").resolve(address).resolve("driver");
        Path drivers = Files.readSymbolicLink(link).getParent();
        Files.delete(link);
        if (driver != null) {
            Files.createDirectories(sysfs().resolve("bus/pci/drivers").resolve(driver));
            Files.createSymbolicLink(link, drivers.resolve(driver));
        }
        Path info = proc().resolve("driver/nvidia/gpus").resolve(address);
        if (Files.exists(info)) {
            Files.delete(info.resolve("information"));
            Files.delete(info);
        }
    }

    /** Removes every IOMMU group, as on a host booted without an IOMMU. */
    public void removeIommu() throws IOException {
        for (Path device : Files.list(sysfs().resolve("bus/pci/devices")).toList()) {
            Files.delete(device.resolve("iommu_group"));
        }
        try (var walk = Files.walk(sysfs().resolve("kernel/iommu_groups"))) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        Files.createDirectories(sysfs().resolve("kernel/iommu_groups"));
    }

    private void mknod(Node node) throws IOException {
        Files.createDirectories(dev());
        DeviceNodes.create(dev().resolve(node.name()), DeviceNodes.Kind.CHARACTER, 0666, node.major(), node.minor());
    }

    private static int depth(Path root, Path dir) {
        return root.relativize(dir).getNameCount();
    }

    // ---------------------------------------------------------------------------------------------
    // the driver's user-space

    /**
     * The NVIDIA driver's user-space as a host has it: {@code libcuda.so.<version>} and
     * {@code libnvidia-ml.so.<version>} (real shared objects built with gcc, with their sonames and
     * soname links), a {@code nvidia-smi} program, and a linker cache listing the libraries beside the
     * host's own, made with {@code ldconfig -C} (in a mount namespace of its own whose
     * /var/cache/ldconfig is a tmpfs, so the host's caches are never written).
     *
     * @param ldCache the linker cache; @param binDir where {@code nvidia-smi} is; @param libDir the libraries
     */
    public record DriverFiles(Path ldCache, Path binDir, Path libDir) {
    }

    public DriverFiles driverFiles() throws IOException, InterruptedException {
        Path lib = root.resolve("usr/lib/nvidia");
        Path bin = root.resolve("usr/bin");
        Files.createDirectories(lib);
        Files.createDirectories(bin);
        Path source = root.resolve("stub.c");
        Files.writeString(source, "int vessel_fake_driver(void) { return 0; }\n");
        for (String name : List.of("libcuda", "libnvidia-ml")) {
            String file = name + ".so." + DRIVER_VERSION;
            run("gcc", "-shared", "-fPIC", "-Wl,-soname," + name + ".so.1", "-o", lib.resolve(file).toString(),
                    source.toString());
            Files.createSymbolicLink(lib.resolve(name + ".so.1"), Path.of(file));
        }
        Files.createSymbolicLink(lib.resolve("libcuda.so"), Path.of("libcuda.so.1"));
        Path smi = bin.resolve("nvidia-smi");
        Files.writeString(smi, "#!/bin/sh\necho \"NVIDIA-SMI " + DRIVER_VERSION + "\"\n");
        Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path conf = root.resolve("ld.so.conf");
        Files.writeString(conf, lib + "\n");
        Path cache = root.resolve("ld.so.cache");
        run("unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mount -t tmpfs tmpfs /var/cache/ldconfig && exec ldconfig -X -C \"$0\" -f \"$1\"",
                cache.toString(), conf.toString());
        return new DriverFiles(cache, bin, lib);
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
    }
}
