package dev.vessel.launcher.vm.domain;

import static dev.vessel.core.gpu.FakeGpuHost.H100_A;
import static dev.vessel.core.gpu.FakeGpuHost.H100_A_AUDIO;
import static dev.vessel.core.gpu.FakeGpuHost.H100_ALONE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.vessel.core.gpu.FakeGpuHost;
import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.gpu.Mmio64Window;
import dev.vessel.core.gpu.PciAddress;
import dev.vessel.core.gpu.PciDevice;
import dev.vessel.core.model.Resources;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.launcher.vm.machine.BaseImage;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.xml.sax.InputSource;

/**
 * VMs given GPUs: the fake host's IOMMU groups, taken by the allocator, rendered into both domain kinds and
 * validated by libvirt itself ({@code virsh define --validate}, then undefined: a domain whose hostdevs name
 * devices of the fake host is never started).
 */
class PassthroughDomainXmlTest {
    private static final long MIB = VmLauncherConfig.MIB;
    private static final QemuUser QEMU = new QemuUser("libvirt-qemu", 64055, 108);

    @TempDir
    Path dir;

    @BeforeAll
    static void libvirt() throws Exception {
        LibvirtFixture.requireLibvirt();
    }

    @Test
    void aVmTaskGetsEveryDeviceOfItsGroupsEachOnItsOwnRootPortWithLockedMemoryAndAWindowForTheBars() throws Exception {
        VmSpec.Passthrough passthrough = twoH100Groups();
        assertEquals(List.of(new PciAddress(H100_A), new PciAddress(H100_A_AUDIO), new PciAddress(H100_ALONE)),
                passthrough.devices(), "both groups whole: the first GPU's audio function goes with it");
        Files.createDirectories(dir.resolve("rootfs"));
        Path kernel = Files.writeString(dir.resolve("vmlinux"), "kernel");
        Path initrd = Files.writeString(dir.resolve("initramfs.cpio"), "initrd");
        VmSpec spec = VmSpec.builder().containerId("gpu-task").stateDir(dir.resolve("state"))
                .domainName(DomainNames.forContainer("gpu-task-xml")).uuid(UUID.randomUUID()).accelerator(Accelerator.TCG)
                .qemuUser(QEMU).memoryBytes(2048 * MIB).vcpus(2).kernel(kernel).initrd(initrd).kernelCmdline("console=ttyS0")
                .rootfs(dir.resolve("rootfs")).rootfsMapped(true).agentSocket(dir.resolve("agent.sock"))
                .consoleLog(dir.resolve("console.log")).cgroupPartition("/vessel-test-vms").passthrough(passthrough).build();

        Document doc = definedByLibvirt(DomainXml.render(spec), spec.domainName());
        assertPassedThrough(doc, passthrough, 2048 * MIB);
    }

    @Test
    void aFullVmGetsThemTheSameWay() throws Exception {
        VmSpec.Passthrough passthrough = twoH100Groups();
        Path base = Files.writeString(dir.resolve("base.qcow2"), "");
        MachineSpec spec = new MachineSpec("gpu-vm", dir.resolve("state"), DomainNames.forContainer("gpu-vm-xml"),
                UUID.randomUUID(), Accelerator.TCG, QEMU, 4096 * MIB, 2, CpuTuning.NONE, dir.resolve("vm.qcow2"),
                new BaseImage(base, "qcow2", 2L << 30), Optional.empty(), dir.resolve("console.log"), "/vessel-test-vms",
                List.of(), List.of(new VmSpec.Nic("vtap-g0", "02:42:0a:58:07:0a")), passthrough);

        Document doc = definedByLibvirt(MachineDomainXml.render(spec), spec.domainName());
        assertPassedThrough(doc, passthrough, 4096 * MIB);
    }

    @Test
    void withoutGpusNothingIsLockedAndNoControllerIsWritten() throws Exception {
        Files.createDirectories(dir.resolve("rootfs"));
        VmSpec spec = VmSpec.builder().containerId("plain").stateDir(dir.resolve("state"))
                .domainName(DomainNames.forContainer("plain")).uuid(UUID.randomUUID()).accelerator(Accelerator.TCG)
                .qemuUser(QEMU).memoryBytes(512 * MIB).vcpus(1).kernel(dir.resolve("vmlinux")).initrd(dir.resolve("initrd"))
                .kernelCmdline("").rootfs(dir.resolve("rootfs")).rootfsMapped(true).agentSocket(dir.resolve("agent.sock"))
                .consoleLog(dir.resolve("console.log")).cgroupPartition("/vessel-test-vms").build();
        Document doc = parse(DomainXml.render(spec));
        assertEquals(0.0, number(doc, "count(/domain/memoryBacking | /domain/memtune | /domain/devices/controller[@type='pci']"
                + " | /domain/devices/hostdev)"));
    }

    /** Two GPUs on NUMA node 0 of the fake host: H100_A with its audio function (group 28), H100_ALONE (group 44). */
    private VmSpec.Passthrough twoH100Groups() throws Exception {
        FakeGpuHost host = FakeGpuHost.create(dir.resolve("host"));
        GpuAllocator allocator = new GpuAllocator(host.discovery().discover(), new RuntimePaths(dir.resolve("state"),
                dir.resolve("run")));
        List<PciDevice> devices = allocator.allocateGroups("vm-a", Resources.newBuilder().setGpus(2).build()).stream()
                .flatMap(g -> g.devices().stream()).toList();
        return new VmSpec.Passthrough(devices.stream().map(PciDevice::address).toList(), Mmio64Window.bytesFor(devices));
    }

    private static void assertPassedThrough(Document doc, VmSpec.Passthrough passthrough, long memoryBytes)
            throws Exception {
        assertEquals((double) passthrough.devices().size(), number(doc, "count(/domain/devices/hostdev)"));
        Set<String> ports = new HashSet<>();
        List<String> sources = new ArrayList<>();
        for (int i = 1; i <= passthrough.devices().size(); i++) {
            String hostdev = "/domain/devices/hostdev[" + i + "]";
            assertEquals("subsystem", text(doc, hostdev + "/@mode"));
            assertEquals("pci", text(doc, hostdev + "/@type"));
            assertEquals("yes", text(doc, hostdev + "/@managed"), "libvirt detaches and gives back, Vessel never rebinds");
            sources.add(String.format("%04x:%02x:%02x.%x", Integer.decode(text(doc, hostdev + "/source/address/@domain")),
                    Integer.decode(text(doc, hostdev + "/source/address/@bus")),
                    Integer.decode(text(doc, hostdev + "/source/address/@slot")),
                    Integer.decode(text(doc, hostdev + "/source/address/@function"))));
            int bus = Integer.decode(text(doc, hostdev + "/address/@bus"));
            assertEquals("pcie-root-port", text(doc, "/domain/devices/controller[@type='pci'][@index='" + bus + "']/@model"),
                    "device " + i + " sits on a root port");
            assertEquals(1.0, number(doc, "count(/domain/devices/*[address/@bus='" + text(doc, hostdev + "/address/@bus")
                    + "'])"), "nothing else on device " + i + "'s root port");
            ports.add(Integer.toString(bus));
        }
        assertEquals(passthrough.devices().stream().map(PciAddress::value).toList(), sources);
        assertEquals(passthrough.devices().size(), ports.size(), "each device on its own root port");
        assertEquals("q35", text(doc, "/domain/os/type/@machine").replaceAll("pc-q35-.*", "q35"));
        assertEquals(1.0, number(doc, "count(/domain/memoryBacking/locked)"));
        assertEquals(Long.toString((memoryBytes >> 10) + (1 << 20)), text(doc, "/domain/memtune/hard_limit"),
                "guest memory + 1 GiB, in KiB");
        // 2 x (128 GiB + 32 MiB) of 64-bit BARs: two 256 GiB port windows, 512 GiB in all
        assertEquals(Long.toString(512L << 20), text(doc, "/domain/devices/controller[@model='pcie-root']/pcihole64"));
        assertEquals("KiB", text(doc, "/domain/devices/controller[@model='pcie-root']/pcihole64/@unit"));
    }

    /** Defines the domain with libvirt's validation, reads back libvirt's own XML of it, undefines it. */
    private static Document definedByLibvirt(String xml, String name) throws Exception {
        Path file = Files.createTempFile("vessel-passthrough-", ".xml");
        try {
            Files.writeString(file, xml);
            LibvirtFixture.Result define = LibvirtFixture.virsh("define", "--validate", file.toString());
            assertEquals(0, define.status(), "libvirt refused the domain XML: " + define.output() + "\n" + xml);
            try {
                LibvirtFixture.Result dumped = LibvirtFixture.virsh("dumpxml", "--inactive", name);
                assertEquals(0, dumped.status(), dumped.output());
                return parse(dumped.output());
            } finally {
                assertEquals(0, LibvirtFixture.virsh("undefine", name).status());
                assertFalse(LibvirtFixture.allDomainNames().contains(name), "the domain was left defined");
            }
        } finally {
            Files.delete(file);
        }
    }

    private static Document parse(String xml) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
    }

    private static String text(Document doc, String xpath) throws Exception {
        return XPathFactory.newInstance().newXPath().evaluate(xpath, doc);
    }

    private static double number(Document doc, String xpath) throws Exception {
        return (Double) XPathFactory.newInstance().newXPath().evaluate(xpath, doc, XPathConstants.NUMBER);
    }
}
