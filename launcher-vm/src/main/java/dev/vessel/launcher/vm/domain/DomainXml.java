package dev.vessel.launcher.vm.domain;

import dev.vessel.core.vm.QemuUser;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Writes the libvirt domain of a VM task: a q35 machine that direct-boots the guest kernel and
 * initramfs, with the serial console in a file, the agent channel (virtio-serial, a unix socket
 * QEMU listens on), the rootfs and the volumes shared by virtio-9p (mapped, so that nothing a guest
 * makes in them is a setuid program or a device on the host), the task's disks (virtio-blk,
 * each with the serial the guest finds it by), a virtio NIC on each tap the host-side
 * {@code vm/network} isolator made, the host PCI devices passed through to it (VFIO: {@code vm/gpu}'s IOMMU
 * groups, each device on its own PCIe root port, guest memory locked, a 64-bit MMIO window for their BARs),
 * the guest's software image as an NVDIMM ({@link SoftwareImage}), a balloon that only takes the pages the
 * guest reports free, and nothing else: no USB, graphics, video or sound. The virtio devices sit on the root
 * complex, not behind root ports ({@link RootComplexSlots}). Under TCG libvirt reads the guest's CPU back the
 * cheap way ({@link #writeCpuReadBack}).
 * Written with StAX, so any id or path is escaped, never spliced into markup.
 * The domain runs in Vessel's cgroup partition ({@link CgroupPartition}), not in libvirt's {@code /machine},
 * which libvirt never removes.
 */
public final class DomainXml {
    /** The name the guest agent finds its port by ({@code /sys/class/virtio-ports/*}/name). */
    public static final String AGENT_CHANNEL = "vessel.agent";
    /** The mount tag of the rootfs share; the guest agent mounts it as the task's root. */
    public static final String ROOTFS_TAG = "vessel-rootfs";
    /**
     * A warm guest's share again, passed through: a warm guest learns only when it is handed a task
     * whether the task's rootfs is an image's view (mapped, {@link #ROOTFS_TAG}) or a {@code host_rootfs}
     * (this tag), so it has both and the agent is told which one to mount.
     */
    public static final String PASSTHROUGH_ROOTFS_TAG = "vessel-rootfs-host";

    /** The tag of the virtio-fs device of a rootfs served with its owners kept ({@code vm.keep_rootfs_owners}). */
    public static final String VIRTIOFS_ROOTFS_TAG = "vessel-rootfs-fs";
    /** The environment variable that tells the template wrapper a guest's part: {@code build} or {@code clone}. */
    public static final String TEMPLATE_ROLE_VARIABLE = "VESSEL_TEMPLATE_ROLE";
    /** The environment variable that tells the template wrapper the template's directory. */
    public static final String TEMPLATE_DIR_VARIABLE = "VESSEL_TEMPLATE_DIR";
    /** libvirt's namespace for what is QEMU's own in a domain. */
    private static final String QEMU_NAMESPACE = "http://libvirt.org/schemas/domain/qemu/1.0";
    /** What a VFIO domain's QEMU may use beyond guest memory (libvirt's own allowance for its lock limit). */
    static final long QEMU_OVERHEAD_BYTES = 1L << 30;

    private DomainXml() {
    }

    public static String render(VmSpec spec) {
        return render(spec, spec.containerId().isEmpty());
    }

    /**
     * The domain of {@code spec}; {@code shareBothWays}: its rootfs share is exported passed through too
     * (a warm guest's, a VM pod's: what will be bound there is not known when it boots).
     */
    public static String render(VmSpec spec, boolean shareBothWays) {
        return document(spec.containerId(), xml -> {
            writeHead(xml, spec.accelerator(), spec.domainName(), spec.uuid(), spec.containerId(), spec.stateDir(),
                    spec.memoryBytes(), spec.vcpus(), spec.cpu(), spec.cgroupPartition());
            writeMemorySlot(xml, spec.software(), spec.memoryBytes());
            writeMemoryBacking(xml, spec.passthrough(), spec.memoryBytes(), spec.rootfsServerSocket().isPresent());
            xml.writeStartElement("os");
            writeOsType(xml);
            text(xml, "kernel", spec.kernel().toString());
            text(xml, "initrd", spec.initrd().toString());
            text(xml, "cmdline", spec.kernelCmdline());
            xml.writeEndElement();
            // The guest ending in any way ends the domain: one task, one VM.
            writeFeatures(xml, spec.accelerator(), spec.tcgCodeCacheMib());
            writeCpu(xml, spec.accelerator(), spec.software().isPresent() ? spec.vcpus() : 0, spec.memoryBytes());
            writeEnds(xml, "destroy");

            xml.writeStartElement("devices");
            if (spec.template().isPresent()) {
                text(xml, "emulator", spec.template().get().wrapper().toString());
            }
            RootComplexSlots slots = RootComplexSlots.all();
            writeConsole(xml, spec.consoleLog());
            writeAgentChannel(xml, spec, slots);
            if (spec.rootfsServerSocket().isPresent()) {
                writeFileServer(xml, spec.rootfsServerSocket().get(), VIRTIOFS_ROOTFS_TAG, slots);
            } else {
                writeShare(xml, spec.rootfs().toString(), ROOTFS_TAG, false, spec.rootfsMapped(), slots);
            }
            if (shareBothWays) {
                writeShare(xml, spec.rootfs().toString(), PASSTHROUGH_ROOTFS_TAG, false, false, slots);
            }
            for (VmVolumes.VolumeShare share : spec.volumes().shares()) {
                writeShare(xml, share.source().toString(), share.tag(), share.readOnly(), true, slots);
            }
            for (VmVolumes.AttachedDisk disk : spec.volumes().disks()) {
                writeDisk(xml, disk, slots);
            }
            for (VmSpec.Nic nic : spec.nics()) {
                writeNic(xml, nic, slots);
            }
            if (spec.software().isPresent()) {
                writeSoftware(xml, spec.software().get());
            }
            writePassthroughDevices(xml, spec.passthrough());
            writeNoUsb(xml);
            // a template's clones map its memory file privately, and QEMU 7.2 discards a page of such a mapping by
            // punching a hole in the file: no balloon, so nothing is ever discarded from a template
            writeBalloon(xml, spec.passthrough().none() && spec.template().isEmpty(), slots);
            xml.writeEndElement();
            writeSeclabel(xml, spec.qemuUser());
            writeCpuReadBack(xml, spec.accelerator());
            if (spec.template().isPresent()) {
                writeTemplateEnvironment(xml, spec.template().get());
            }
        });
    }

    /** What a renderer writes inside {@code <domain>}. */
    interface Body {
        void write(XMLStreamWriter xml) throws XMLStreamException;
    }

    /** A whole domain document: {@code <domain>}, {@code body}, the end. */
    static String document(String containerId, Body body) {
        StringWriter out = new StringWriter();
        try {
            XMLStreamWriter xml = XMLOutputFactory.newFactory().createXMLStreamWriter(out);
            body.write(xml);
            xml.writeEndElement();
            xml.writeEndDocument();
            xml.close();
        } catch (XMLStreamException e) {
            throw new IllegalStateException("cannot write the domain XML of " + containerId, e);
        }
        return out.toString();
    }

    /**
     * {@code <domain type>} opened, then its name, uuid, Vessel metadata, memory, vCPUs (pinned to host CPUs, its
     * memory to host NUMA nodes, as {@code cpu} says), CPU weight and cgroup partition.
     */
    static void writeHead(XMLStreamWriter xml, Accelerator accelerator, String name, UUID uuid,
            String containerId, Path stateDir, long memoryBytes, int vcpus, CpuTuning cpu, String partition)
            throws XMLStreamException {
        xml.writeStartElement("domain");
        xml.writeAttribute("type", accelerator.domainType());
        text(xml, "name", name);
        text(xml, "uuid", uuid.toString());
        xml.writeStartElement("metadata");
        new DomainMetadata(containerId, stateDir.toString()).write(xml);
        xml.writeEndElement();
        xml.writeStartElement("memory");
        xml.writeAttribute("unit", "KiB");
        xml.writeCharacters(Long.toString((memoryBytes + 1023) / 1024));
        xml.writeEndElement();
        cpu.writeVcpu(xml, vcpus);
        cpu.writeCputune(xml);
        cpu.writeNumatune(xml);
        xml.writeStartElement("resource");
        text(xml, "partition", partition);
        xml.writeEndElement();
    }

    static void writeOsType(XMLStreamWriter xml) throws XMLStreamException {
        xml.writeStartElement("type");
        xml.writeAttribute("arch", "x86_64");
        xml.writeAttribute("machine", "q35");
        xml.writeCharacters("hvm");
        xml.writeEndElement();
    }

    /**
     * ACPI (what lets the guest's poweroff end QEMU, and an orderly stop press the power button), the
     * host's CPU under KVM, and what a poweroff, reboot ({@code onReboot}) and crash do.
     */
    static void writeFeaturesAndEnds(XMLStreamWriter xml, Accelerator accelerator, String onReboot)
            throws XMLStreamException {
        writeFeatures(xml, accelerator, 0);
        writeCpu(xml, accelerator, 0, 0);
        writeEnds(xml, onReboot);
    }

    /** ACPI, and under TCG a translated-code cache of {@code tcgCodeCacheMib} (0: QEMU's default). */
    private static void writeFeatures(XMLStreamWriter xml, Accelerator accelerator, int tcgCodeCacheMib)
            throws XMLStreamException {
        xml.writeStartElement("features");
        xml.writeEmptyElement("acpi");
        if (accelerator == Accelerator.TCG && tcgCodeCacheMib > 0) {
            xml.writeStartElement("tcg");
            xml.writeStartElement("tb-cache");
            xml.writeAttribute("unit", "MiB");
            xml.writeCharacters(Integer.toString(tcgCodeCacheMib));
            xml.writeEndElement();
            xml.writeEndElement();
        }
        xml.writeEndElement();
    }

    /**
     * The host's CPU under KVM; and with {@code numaVcpus} above 0 one NUMA cell holding those vCPUs and all of
     * {@code memoryBytes}: libvirt gives a guest a memory device (the software image's NVDIMM) only in a NUMA
     * cell, and one cell is what the guest had without it.
     */
    private static void writeCpu(XMLStreamWriter xml, Accelerator accelerator, int numaVcpus, long memoryBytes)
            throws XMLStreamException {
        boolean kvm = accelerator == Accelerator.KVM;
        if (!kvm && numaVcpus == 0) {
            return;
        }
        xml.writeStartElement("cpu");
        if (kvm) {
            xml.writeAttribute("mode", "host-passthrough");
        }
        if (numaVcpus > 0) {
            xml.writeStartElement("numa");
            xml.writeEmptyElement("cell");
            xml.writeAttribute("id", "0");
            xml.writeAttribute("cpus", numaVcpus == 1 ? "0" : "0-" + (numaVcpus - 1));
            xml.writeAttribute("memory", Long.toString((memoryBytes + 1023) / 1024));
            xml.writeAttribute("unit", "KiB");
            xml.writeEndElement();
        }
        xml.writeEndElement();
    }

    /**
     * Under TCG, how libvirt reads the guest's CPU back before the guest runs: through QEMU's x86 feature words
     * (two queries) instead of one query per CPU property (about 800 round trips on the monitor, a quarter of a
     * second of every start, measured with libvirt 9.0 and QEMU 7.2). libvirt takes the per-property path when
     * QEMU reports unavailable features; this domain's copy of QEMU's capabilities drops that flag, which libvirt
     * supports as an override and marks the domain tainted ({@code custom-hypervisor-feature}) in its log. The
     * guest, QEMU's command line and what libvirt checks are the same either way. A KVM guest keeps libvirt's
     * default (it takes the host's CPU, whose read-back this host cannot exercise).
     */
    private static void writeCpuReadBack(XMLStreamWriter xml, Accelerator accelerator) throws XMLStreamException {
        if (accelerator != Accelerator.TCG) {
            return;
        }
        xml.writeStartElement("qemu", "capabilities", QEMU_NAMESPACE);
        xml.writeNamespace("qemu", QEMU_NAMESPACE);
        xml.writeEmptyElement("qemu", "del", QEMU_NAMESPACE);
        xml.writeAttribute("capability", "cpu-unavailable-features");
        xml.writeEndElement();
    }

    /**
     * Tells the template wrapper (the domain's emulator) the guest's part and where the template lives, in the
     * environment libvirt gives QEMU. libvirt marks a domain with such additions tainted ({@code custom-argv}).
     */
    private static void writeTemplateEnvironment(XMLStreamWriter xml, VmSpec.Template template)
            throws XMLStreamException {
        xml.writeStartElement("qemu", "commandline", QEMU_NAMESPACE);
        xml.writeNamespace("qemu", QEMU_NAMESPACE);
        xml.writeEmptyElement("qemu", "env", QEMU_NAMESPACE);
        xml.writeAttribute("name", TEMPLATE_ROLE_VARIABLE);
        xml.writeAttribute("value", template.role().name().toLowerCase(Locale.ROOT));
        xml.writeEmptyElement("qemu", "env", QEMU_NAMESPACE);
        xml.writeAttribute("name", TEMPLATE_DIR_VARIABLE);
        xml.writeAttribute("value", template.dir().toString());
        xml.writeEndElement();
    }

    private static void writeEnds(XMLStreamWriter xml, String onReboot) throws XMLStreamException {
        text(xml, "on_poweroff", "destroy");
        text(xml, "on_reboot", onReboot);
        text(xml, "on_crash", "destroy");
    }

    /**
     * A VM with passed-through devices has its memory locked: a device may DMA into any guest page at any
     * time, so none may be swapped or moved (VFIO pins them anyway; this says so, and libvirt then raises
     * QEMU's RLIMIT_MEMLOCK). libvirt's documentation asks for a hard limit beside {@code <locked/>}: the guest's
     * memory plus 1 GiB for QEMU itself, the figure libvirt uses for a VFIO domain's lock limit. Nothing
     * without passthrough.
     */
    static void writeLockedMemory(XMLStreamWriter xml, VmSpec.Passthrough passthrough, long memoryBytes)
            throws XMLStreamException {
        writeMemoryBacking(xml, passthrough, memoryBytes, false);
    }

    /**
     * {@link #writeLockedMemory}, and with {@code shared} the guest's memory on a shared memfd: a virtio-fs
     * server (another process) reads and writes the guest's buffers in place.
     */
    private static void writeMemoryBacking(XMLStreamWriter xml, VmSpec.Passthrough passthrough, long memoryBytes,
            boolean shared) throws XMLStreamException {
        if (!passthrough.none()) {
            xml.writeStartElement("memtune");
            xml.writeStartElement("hard_limit");
            xml.writeAttribute("unit", "KiB");
            xml.writeCharacters(Long.toString((memoryBytes + QEMU_OVERHEAD_BYTES + 1023) / 1024));
            xml.writeEndElement();
            xml.writeEndElement();
        }
        if (passthrough.none() && !shared) {
            return;
        }
        xml.writeStartElement("memoryBacking");
        if (!passthrough.none()) {
            xml.writeEmptyElement("locked");
        }
        if (shared) {
            xml.writeEmptyElement("source");
            xml.writeAttribute("type", "memfd");
            xml.writeEmptyElement("access");
            xml.writeAttribute("mode", "shared");
        }
        xml.writeEndElement();
    }

    /**
     * Every passed-through host PCI function as a managed {@code <hostdev>} (libvirt detaches it from its host
     * driver, binds it to vfio-pci while the VM runs, and gives it back after; Vessel never rebinds), each on a
     * {@code pcie-root-port} of its own, as a device sits on its own port on a real PCIe host: the guest's
     * drivers see a PCIe device with its link and extended capabilities, and it can be reset alone. The q35
     * root's 64-bit MMIO window ({@code pcihole64}, libvirt's own element for QEMU's {@code pci-hole64-size},
     * no QEMU command-line pass-through that would taint the domain) is sized for their BARs.
     * Root ports take controller indexes 1…n and each device is bus n, slot 0; libvirt adds further ports
     * after them for the other devices.
     */
    static void writePassthroughDevices(XMLStreamWriter xml, VmSpec.Passthrough passthrough) throws XMLStreamException {
        if (passthrough.none()) {
            return;
        }
        xml.writeStartElement("controller");
        xml.writeAttribute("type", "pci");
        xml.writeAttribute("index", "0");
        xml.writeAttribute("model", "pcie-root");
        xml.writeStartElement("pcihole64");
        xml.writeAttribute("unit", "KiB");
        xml.writeCharacters(Long.toString(passthrough.mmio64WindowBytes() / 1024));
        xml.writeEndElement();
        xml.writeEndElement();
        for (int i = 0; i < passthrough.devices().size(); i++) {
            String port = Integer.toString(i + 1);
            xml.writeEmptyElement("controller");
            xml.writeAttribute("type", "pci");
            xml.writeAttribute("index", port);
            xml.writeAttribute("model", "pcie-root-port");

            String[] host = passthrough.devices().get(i).value().split("[:.]"); // domain, bus, slot, function
            xml.writeStartElement("hostdev");
            xml.writeAttribute("mode", "subsystem");
            xml.writeAttribute("type", "pci");
            xml.writeAttribute("managed", "yes");
            xml.writeStartElement("source");
            writePciAddress(xml, false, host[0], host[1], host[2], host[3]);
            xml.writeEndElement();
            writePciAddress(xml, true, "0000", String.format("%02x", i + 1), "00", "0");
            xml.writeEndElement();
        }
    }

    /** A PCI address element; the guest side's (where the device sits in the VM) says its type. */
    static void writePciAddress(XMLStreamWriter xml, boolean guest, String domain, String bus, String slot,
            String function) throws XMLStreamException {
        xml.writeEmptyElement("address");
        if (guest) {
            xml.writeAttribute("type", "pci");
        }
        xml.writeAttribute("domain", "0x" + domain);
        xml.writeAttribute("bus", "0x" + bus);
        xml.writeAttribute("slot", "0x" + slot);
        xml.writeAttribute("function", "0x" + function);
    }

    static void writeNoUsbNoBalloon(XMLStreamWriter xml) throws XMLStreamException {
        writeNoUsb(xml);
        writeBalloon(xml, false, RootComplexSlots.none());
    }

    private static void writeNoUsb(XMLStreamWriter xml) throws XMLStreamException {
        xml.writeEmptyElement("controller");
        xml.writeAttribute("type", "usb");
        xml.writeAttribute("model", "none");
    }

    /**
     * With {@code freePageReporting}, a virtio balloon that never inflates but takes back the pages the guest
     * reports free (free page reporting: the guest's kernel reports free 2 MiB blocks, QEMU discards them), so a
     * guest's QEMU does not keep holding what its boot and its tasks once used. None otherwise: a guest with
     * devices passed through has its memory pinned, where nothing can be given back.
     */
    private static void writeBalloon(XMLStreamWriter xml, boolean freePageReporting, RootComplexSlots slots)
            throws XMLStreamException {
        if (!freePageReporting) {
            xml.writeEmptyElement("memballoon");
            xml.writeAttribute("model", "none");
            return;
        }
        xml.writeStartElement("memballoon");
        xml.writeAttribute("model", "virtio");
        xml.writeAttribute("freePageReporting", "on");
        slots.writeAddress(xml);
        xml.writeEndElement();
    }

    /**
     * Room for the software image's NVDIMM beside the guest's memory: libvirt plugs memory devices into
     * hotplug slots, within {@code <maxMemory>}. Nothing without one.
     */
    private static void writeMemorySlot(XMLStreamWriter xml, Optional<VmSpec.Software> software, long memoryBytes)
            throws XMLStreamException {
        if (software.isEmpty()) {
            return;
        }
        xml.writeStartElement("maxMemory");
        xml.writeAttribute("slots", "1");
        xml.writeAttribute("unit", "KiB");
        xml.writeCharacters(Long.toString((memoryBytes + software.get().sizeBytes() + 1023) / 1024));
        xml.writeEndElement();
    }

    /**
     * The software image as an NVDIMM in the guest's one NUMA cell: the file mapped privately ({@code
     * access='private'}), so guests share its untouched pages and a write would stay the guest's own; {@code
     * <pmem/>}, which keeps libvirt from preallocating it (that would copy every page into each guest); the
     * device unarmed ({@code <readonly/>}), so the guest's kernel makes it a read-only disk. The guest's /init
     * mounts it with DAX: the JVM maps the host's pages of the file instead of copies in its guest's memory.
     */
    private static void writeSoftware(XMLStreamWriter xml, VmSpec.Software software) throws XMLStreamException {
        xml.writeStartElement("memory");
        xml.writeAttribute("model", "nvdimm");
        xml.writeAttribute("access", "private");
        xml.writeStartElement("source");
        text(xml, "path", software.image().toString());
        xml.writeEmptyElement("pmem");
        xml.writeEndElement();
        xml.writeStartElement("target");
        xml.writeStartElement("size");
        xml.writeAttribute("unit", "KiB");
        xml.writeCharacters(Long.toString(software.sizeBytes() / 1024));
        xml.writeEndElement();
        text(xml, "node", "0");
        xml.writeEmptyElement("readonly");
        xml.writeEndElement();
        xml.writeEndElement();
    }

    /**
     * QEMU runs as its own unprivileged user, and libvirt chowns nothing: the launcher gave that user
     * what the domain needs ({@link QemuAccess}), and shared files keep their owners.
     */
    static void writeSeclabel(XMLStreamWriter xml, QemuUser qemu) throws XMLStreamException {
        xml.writeStartElement("seclabel");
        xml.writeAttribute("type", "static");
        xml.writeAttribute("model", "dac");
        xml.writeAttribute("relabel", "no");
        text(xml, "label", qemu.dacLabel());
        xml.writeEndElement();
    }

    /** The serial console written to a file: a VM task's, which no one types into. */
    static void writeConsole(XMLStreamWriter xml, Path consoleLog) throws XMLStreamException {
        xml.writeStartElement("serial");
        xml.writeAttribute("type", "file");
        xml.writeEmptyElement("source");
        xml.writeAttribute("path", consoleLog.toString());
        xml.writeEmptyElement("target");
        xml.writeAttribute("port", "0");
        xml.writeEndElement();
    }

    /**
     * The serial console on a pty that a user can attach to, and everything it prints also logged to
     * {@code consoleLog} (whether anyone is attached or not): a full VM's.
     */
    static void writeInteractiveConsole(XMLStreamWriter xml, Path consoleLog) throws XMLStreamException {
        xml.writeStartElement("serial");
        xml.writeAttribute("type", "pty");
        xml.writeEmptyElement("log");
        xml.writeAttribute("file", consoleLog.toString());
        xml.writeAttribute("append", "off");
        xml.writeEmptyElement("target");
        xml.writeAttribute("port", "0");
        xml.writeEndElement();
    }

    /** The agent's virtio-serial port, on a controller of its own in one of {@code slots}. */
    private static void writeAgentChannel(XMLStreamWriter xml, VmSpec spec, RootComplexSlots slots)
            throws XMLStreamException {
        xml.writeStartElement("controller");
        xml.writeAttribute("type", "virtio-serial");
        xml.writeAttribute("index", "0");
        slots.writeAddress(xml);
        xml.writeEndElement();
        xml.writeStartElement("channel");
        xml.writeAttribute("type", "unix");
        xml.writeEmptyElement("source");
        xml.writeAttribute("mode", "bind");
        xml.writeAttribute("path", spec.agentSocket().toString());
        xml.writeEmptyElement("target");
        xml.writeAttribute("type", "virtio");
        xml.writeAttribute("name", AGENT_CHANNEL);
        xml.writeEndElement();
    }

    /**
     * A share in QEMU's {@code mapped-xattr} model (libvirt's {@code accessmode='mapped'}): a file or
     * directory the guest creates is a plain 0600 file or 0700 directory of QEMU's user on the host, and
     * the owner, mode and file type the guest gave it (setuid bits, device numbers, symlink targets) are
     * kept in its {@code user.virtfs.*} xattrs, so a hostile guest root never makes a setuid-root program,
     * a device node or a symlink on the host. Files it did not create are seen with their host owner and
     * mode. QEMU reads a symlink of this model from the file's content: a symlink made on the host cannot
     * be followed by the guest (ELOOP), which is why an image's rootfs is a view whose symlinks are such
     * files (the {@code vm/rootfs} isolator's). Otherwise ({@code mapped} false: a {@code host_rootfs},
     * which the operator handed to the task live, and a warm guest's share) ownership and modes are the
     * host's own. A read-only share is refused writes by QEMU itself.
     */
    private static void writeShare(XMLStreamWriter xml, String dir, String tag, boolean readOnly, boolean mapped,
            RootComplexSlots slots) throws XMLStreamException {
        xml.writeStartElement("filesystem");
        xml.writeAttribute("type", "mount");
        xml.writeAttribute("accessmode", mapped ? "mapped" : "passthrough");
        // A share may cross into other mounts (a warm guest's into the task's rootfs, a volume into
        // what is mounted in it): remapped inode numbers keep files of two filesystems apart.
        xml.writeAttribute("multidevs", "remap");
        xml.writeEmptyElement("source");
        xml.writeAttribute("dir", dir);
        xml.writeEmptyElement("target");
        xml.writeAttribute("dir", tag);
        if (readOnly) {
            xml.writeEmptyElement("readonly");
        }
        slots.writeAddress(xml);
        xml.writeEndElement();
    }

    /**
     * A virtio-fs device served by a file server Vessel started (libvirt's externally launched
     * {@code virtiofsd}: libvirt starts none of its own, QEMU connects to {@code socket}).
     */
    private static void writeFileServer(XMLStreamWriter xml, Path socket, String tag, RootComplexSlots slots)
            throws XMLStreamException {
        xml.writeStartElement("filesystem");
        xml.writeAttribute("type", "mount");
        xml.writeEmptyElement("driver");
        xml.writeAttribute("type", "virtiofs");
        xml.writeAttribute("queue", "1024");
        xml.writeEmptyElement("source");
        xml.writeAttribute("socket", socket.toString());
        xml.writeEmptyElement("target");
        xml.writeAttribute("dir", tag);
        slots.writeAddress(xml);
        xml.writeEndElement();
    }

    /** The format is always given: QEMU never probes it (a raw image could pose as qcow2 with a backing file). */
    static void writeDisk(XMLStreamWriter xml, VmVolumes.AttachedDisk disk) throws XMLStreamException {
        writeDisk(xml, disk, RootComplexSlots.none());
    }

    /** As {@link #writeDisk(XMLStreamWriter, VmVolumes.AttachedDisk)}, in one of {@code slots}. */
    private static void writeDisk(XMLStreamWriter xml, VmVolumes.AttachedDisk disk, RootComplexSlots slots)
            throws XMLStreamException {
        xml.writeStartElement("disk");
        xml.writeAttribute("type", disk.blockDevice() ? "block" : "file");
        xml.writeAttribute("device", "disk");
        xml.writeEmptyElement("driver");
        xml.writeAttribute("name", "qemu");
        xml.writeAttribute("type", disk.format());
        xml.writeEmptyElement("source");
        xml.writeAttribute(disk.blockDevice() ? "dev" : "file", disk.path().toString());
        xml.writeEmptyElement("target");
        xml.writeAttribute("dev", disk.device());
        xml.writeAttribute("bus", "virtio");
        text(xml, "serial", disk.serial());
        if (disk.readOnly()) {
            xml.writeEmptyElement("readonly");
        }
        slots.writeAddress(xml);
        xml.writeEndElement();
    }

    /**
     * A virtio NIC on an existing tap: {@code managed='no'} has libvirt open it by name and leave it
     * as it is (no address, no master, not even up). No option ROM: the guest boots its kernel
     * directly, and iPXE only costs start-up time.
     */
    static void writeNic(XMLStreamWriter xml, VmSpec.Nic nic) throws XMLStreamException {
        writeNic(xml, nic, RootComplexSlots.none());
    }

    /** As {@link #writeNic(XMLStreamWriter, VmSpec.Nic)}, in one of {@code slots}. */
    private static void writeNic(XMLStreamWriter xml, VmSpec.Nic nic, RootComplexSlots slots) throws XMLStreamException {
        xml.writeStartElement("interface");
        xml.writeAttribute("type", "ethernet");
        xml.writeEmptyElement("mac");
        xml.writeAttribute("address", nic.mac());
        xml.writeEmptyElement("target");
        xml.writeAttribute("dev", nic.tap());
        xml.writeAttribute("managed", "no");
        xml.writeEmptyElement("model");
        xml.writeAttribute("type", "virtio");
        xml.writeEmptyElement("rom");
        xml.writeAttribute("enabled", "no");
        slots.writeAddress(xml);
        xml.writeEndElement();
    }

    static void text(XMLStreamWriter xml, String element, String text) throws XMLStreamException {
        xml.writeStartElement(element);
        xml.writeCharacters(text);
        xml.writeEndElement();
    }

}
