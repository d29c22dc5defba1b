package dev.vessel.launcher.vm.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.launcher.vm.machine.BaseImage;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.xml.sax.InputSource;

/** A full VM's domain, read back and validated by libvirt itself ({@code virsh define --validate}). */
class MachineDomainXmlTest {
    @TempDir
    Path dir;

    @Test
    void theFirmwareBootsTheOverlayWhoseWholeChainIsSpelledOutBesideTheDisksAndTheSeedOnItsPinnedCpus()
            throws Exception {
        LibvirtFixture.requireLibvirt();
        Path base = Files.writeString(dir.resolve("base.qcow2"), "");
        Path disk = dir.resolve("vm.qcow2");
        Path extra = Files.writeString(dir.resolve("data.img"), "");
        MachineSpec spec = new MachineSpec("web-1", dir.resolve("state"), DomainNames.forContainer("web-1-xml"),
                UUID.randomUUID(), Accelerator.TCG, new QemuUser("libvirt-qemu", 64055, 108), 1024 * VmLauncherConfig.MIB,
                2, new CpuTuning("1", "0", 512, 1.5), disk, new BaseImage(base, "qcow2", 2L << 30),
                Optional.of(dir.resolve("seed.iso")),
                dir.resolve("console.log"), "/vessel-test-vms",
                List.of(new VmVolumes.AttachedDisk(extra, "raw", true, false, "vessel-disk0", "vda")),
                List.of(new VmSpec.Nic("vtap-m0", "02:42:0a:58:07:09")), VmSpec.Passthrough.NONE);
        String xml = MachineDomainXml.render(spec);
        Path file = Files.writeString(dir.resolve("domain.xml"), xml);
        LibvirtFixture.Result define = LibvirtFixture.virsh("define", "--validate", file.toString());
        try {
            assertEquals(0, define.status(), "libvirt refused the domain XML: " + define.output() + "\n" + xml);
        } finally {
            if (define.status() == 0) {
                assertEquals(0, LibvirtFixture.virsh("undefine", spec.domainName()).status());
            }
        }
        assertFalse(LibvirtFixture.allDomainNames().contains(spec.domainName()), "the domain was left defined");

        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
        assertEquals("", text(doc, "/domain/os/kernel"), "a machine boots its own kernel");
        assertEquals("hd", text(doc, "/domain/os/boot/@dev"));
        String root = "/domain/devices/disk[target/@dev='vda']";
        assertEquals("qcow2", text(doc, root + "/driver/@type"));
        assertEquals(disk.toString(), text(doc, root + "/source/@file"));
        assertEquals("qcow2", text(doc, root + "/backingStore/format/@type"), "the base's format is given");
        assertEquals(base.toString(), text(doc, root + "/backingStore/source/@file"));
        assertEquals(0.0, number(doc, "count(" + root + "/backingStore/backingStore/*)"), "the chain ends at the base");
        String seed = "/domain/devices/disk[source/@file='" + dir.resolve("seed.iso") + "']";
        assertEquals("vdc", text(doc, seed + "/target/@dev"), "the seed comes last");
        assertEquals("raw", text(doc, seed + "/driver/@type"));
        assertEquals(1.0, number(doc, "count(" + seed + "/readonly)"));
        assertEquals("vdb", text(doc, "/domain/devices/disk[source/@file='" + extra + "']/target/@dev"),
                "further disks come after the root disk");
        assertEquals("vtap-m0", text(doc, "/domain/devices/interface/target/@dev"));
        assertEquals("pty", text(doc, "/domain/devices/serial/@type"), "the console is one a user can attach to");
        assertEquals(dir.resolve("console.log").toString(), text(doc, "/domain/devices/serial/log/@file"),
                "and logged whether anyone is attached or not");
        // resources.cpuset_cpus/mems: its vCPUs and QEMU's threads on host CPU 1, its memory from node 0
        assertEquals("2", text(doc, "/domain/vcpu"));
        assertEquals("static", text(doc, "/domain/vcpu/@placement"));
        assertEquals("1", text(doc, "/domain/vcpu/@cpuset"));
        assertEquals("strict", text(doc, "/domain/numatune/memory/@mode"));
        assertEquals("0", text(doc, "/domain/numatune/memory/@nodeset"));
        assertEquals("512", text(doc, "/domain/cputune/shares"), "its CPU weight on the host");
        assertEquals("100000", text(doc, "/domain/cputune/global_period"));
        assertEquals("150000", text(doc, "/domain/cputune/global_quota"), "its limit, 1.5 CPUs, for the whole VM");
        assertEquals("restart", text(doc, "/domain/on_reboot"));
        assertEquals("destroy", text(doc, "/domain/on_poweroff"));
        assertEquals("+64055:+108", text(doc, "/domain/seclabel/label"));
        assertEquals("no", text(doc, "/domain/seclabel/@relabel"));
    }

    private static String text(Document doc, String xpath) throws Exception {
        return XPathFactory.newInstance().newXPath().evaluate(xpath, doc);
    }

    private static double number(Document doc, String xpath) throws Exception {
        return (Double) XPathFactory.newInstance().newXPath().evaluate(xpath, doc, XPathConstants.NUMBER);
    }
}
