package dev.vessel.core.gpu;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.DirectoryEntries;
import dev.vessel.linux.DeviceNodes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Finds the node's GPUs the way the kernel shows them, reading only: the PCI functions under
 * {@code <sysfs>/bus/pci/devices} whose class is a display or 3D controller of NVIDIA, AMD or Intel,
 * each with its NUMA node, bound driver and IOMMU group ({@code <sysfs>/kernel/iommu_groups/N}); for
 * NVIDIA, the driver's {@code <proc>/driver/nvidia/gpus/<address>/information} (device minor, model,
 * UUID) and the nodes under the dev root. The three roots are the host's {@code /sys}, {@code /proc}
 * and {@code /dev} unless the daemon is told otherwise (tests, unusual hosts).
 */
public final class GpuDiscovery {
    /** The NVIDIA driver's nodes that are not one GPU's: every container with an NVIDIA GPU needs them. */
    public static final List<String> NVIDIA_CONTROL_NODES =
            List.of("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset");

    /** A BAR's flag in sysfs {@code resource}: a 64-bit memory BAR (the kernel's IORESOURCE_MEM_64). */
    private static final long IORESOURCE_MEM_64 = 0x00100000;
    private static final int S_IFMT = 0170000;
    private static final int S_IFCHR = 0020000;

    private final Path sysfs;
    private final Path proc;
    private final Path dev;

    public GpuDiscovery(Path sysfs, Path proc, Path dev) {
        this.sysfs = sysfs;
        this.proc = proc;
        this.dev = dev;
    }

    /** The host's own {@code /sys}, {@code /proc} and {@code /dev}. */
    public static GpuDiscovery host() {
        return new GpuDiscovery(Path.of("/sys"), Path.of("/proc"), Path.of("/dev"));
    }

    public GpuInventory discover() {
        try {
            List<Gpu> gpus = new ArrayList<>();
            for (Path device : DirectoryEntries.matching(sysfs.resolve("bus/pci/devices"), "*")) {
                Optional<PciAddress> address = PciAddress.parse(device.getFileName().toString());
                if (address.isEmpty()) {
                    continue;
                }
                PciDevice pci = pciDevice(address.get(), device);
                Optional<GpuVendor> vendor = GpuVendor.of(pci.vendor());
                if (pci.isDisplayController() && vendor.isPresent()) {
                    gpus.add(gpu(pci, vendor.get(), device));
                }
            }
            gpus.sort(Comparator.comparing(Gpu::address));
            boolean iommu = !DirectoryEntries.matching(sysfs.resolve("kernel/iommu_groups"), "*").isEmpty();
            return new GpuInventory(gpus, controlNodes(), iommu);
        } catch (IOException e) {
            throw VesselException.internal(sysfs.toString(), "cannot discover GPUs: " + e.getMessage(), e);
        }
    }

    /** Every PCI function the kernel lists, in address order (a guest agent reports them). */
    public List<PciDevice> pciDevices() {
        try {
            List<PciDevice> devices = new ArrayList<>();
            for (Path device : DirectoryEntries.matching(sysfs.resolve("bus/pci/devices"), "*")) {
                Optional<PciAddress> address = PciAddress.parse(device.getFileName().toString());
                if (address.isPresent()) {
                    devices.add(pciDevice(address.get(), device));
                }
            }
            devices.sort(Comparator.comparing(PciDevice::address));
            return devices;
        } catch (IOException e) {
            throw VesselException.internal(sysfs.toString(), "cannot list PCI devices: " + e.getMessage(), e);
        }
    }

    /** Every IOMMU group the kernel made, by number, with its devices; none without an IOMMU. */
    public List<IommuGroup> iommuGroups() {
        try {
            List<IommuGroup> groups = new ArrayList<>();
            for (Path group : DirectoryEntries.matching(sysfs.resolve("kernel/iommu_groups"), "*")) {
                String number = group.getFileName().toString();
                if (number.matches("[0-9]+")) {
                    groups.add(iommuGroup(number));
                }
            }
            groups.sort(Comparator.comparingInt(IommuGroup::number));
            return groups;
        } catch (IOException e) {
            throw VesselException.internal(sysfs.toString(), "cannot list IOMMU groups: " + e.getMessage(), e);
        }
    }

    private Gpu gpu(PciDevice pci, GpuVendor vendor, Path device) throws IOException {
        Optional<Gpu.NvidiaGpu> nvidia = Optional.empty();
        String model = vendor + " " + pci.ids();
        Map<String, String> info = nvidiaInformation(pci.address());
        if (vendor == GpuVendor.NVIDIA && info.containsKey("Device Minor")) {
            int minor = Integer.parseInt(info.get("Device Minor"));
            nvidia = Optional.of(new Gpu.NvidiaGpu(minor, Optional.ofNullable(info.get("GPU UUID")),
                    node("nvidia" + minor)));
            model = info.getOrDefault("Model", model);
        }
        return new Gpu(pci, vendor, model, numaNode(device), groupOf(device), nvidia);
    }

    private PciDevice pciDevice(PciAddress address, Path device) throws IOException {
        return new PciDevice(address, hex(device.resolve("class")), hex(device.resolve("vendor")),
                hex(device.resolve("device")), linkName(device.resolve("driver")), mmio64Bytes(device));
    }

    /**
     * The sizes of the 64-bit memory BARs in sysfs {@code resource} (one line per resource: start, end,
     * flags, in hex; an unused one is all zeros); 0 when the file is missing.
     */
    private static long mmio64Bytes(Path device) throws IOException {
        Path file = device.resolve("resource");
        if (!Files.isRegularFile(file)) {
            return 0;
        }
        long total = 0;
        for (String line : Files.readAllLines(file)) {
            String[] fields = line.strip().split("\\s+");
            if (fields.length == 3 && (Long.decode(fields[2]) & IORESOURCE_MEM_64) != 0) {
                total += Long.decode(fields[1]) - Long.decode(fields[0]) + 1;
            }
        }
        return total;
    }

    /** The group the {@code iommu_group} link names, with every device in it; empty without an IOMMU. */
    private Optional<IommuGroup> groupOf(Path device) throws IOException {
        Optional<String> number = linkName(device.resolve("iommu_group"));
        if (number.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(iommuGroup(number.get()));
    }

    private IommuGroup iommuGroup(String number) throws IOException {
        Path groupDevices = sysfs.resolve("kernel/iommu_groups").resolve(number).resolve("devices");
        List<PciDevice> members = new ArrayList<>();
        for (Path member : DirectoryEntries.matching(groupDevices, "*")) {
            Optional<PciAddress> address = PciAddress.parse(member.getFileName().toString());
            if (address.isPresent()) {
                members.add(pciDevice(address.get(), member));
            }
        }
        members.sort(Comparator.comparing(PciDevice::address));
        return new IommuGroup(Integer.parseInt(number), members);
    }

    private static int numaNode(Path device) throws IOException {
        Path file = device.resolve("numa_node");
        return Files.exists(file) ? Integer.parseInt(Files.readString(file).strip()) : -1;
    }

    /**
     * The driver's "Key: value" lines for one GPU (tabs and spaces around the colon), empty when the
     * NVIDIA driver does not drive it.
     */
    private Map<String, String> nvidiaInformation(PciAddress address) throws IOException {
        Map<String, String> info = new TreeMap<>();
        Path file = proc.resolve("driver/nvidia/gpus").resolve(address.value()).resolve("information");
        if (!Files.isRegularFile(file)) {
            return info;
        }
        for (String line : Files.readAllLines(file)) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                info.put(line.substring(0, colon).strip(), line.substring(colon + 1).strip());
            }
        }
        return info;
    }

    private List<DeviceNode> controlNodes() throws IOException {
        List<DeviceNode> nodes = new ArrayList<>();
        for (String name : NVIDIA_CONTROL_NODES) {
            node(name).ifPresent(nodes::add);
        }
        return nodes;
    }

    /** The character device {@code name} under the dev root with its device number; empty when absent. */
    private Optional<DeviceNode> node(String name) throws IOException {
        Path path = dev.resolve(name);
        int mode;
        long rdev;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode");
            rdev = (Long) Files.getAttribute(path, "unix:rdev");
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        if ((mode & S_IFMT) != S_IFCHR) {
            return Optional.empty();
        }
        return Optional.of(new DeviceNode(name, path, DeviceNodes.major(rdev), DeviceNodes.minor(rdev)));
    }

    private static int hex(Path file) throws IOException {
        String text = Files.readString(file).strip();
        return Integer.parseInt(text.startsWith("0x") ? text.substring(2) : text, 16);
    }

    /**
     * The name a link points at; none where there is no link (looked at first, not caught: a guest's interpreted
     * JVM pays for each exception thrown).
     */
    private static Optional<String> linkName(Path link) throws IOException {
        if (!Files.isSymbolicLink(link)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Files.readSymbolicLink(link).getFileName().toString());
        } catch (NoSuchFileException | NotLinkException e) {
            return Optional.empty(); // replaced meanwhile
        }
    }
}
