package dev.vessel.launcher.vm.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.core.vm.QemuUser;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPath;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.xml.sax.InputSource;

/** The domain XML is checked by libvirt's own schema, and carries what the spec says. */
class DomainXmlTest {
    private static final QemuUser QEMU = new QemuUser("libvirt-qemu", 64055, 108);
    @TempDir
    Path dir;

    @BeforeAll
    static void libvirt() throws Exception {
        LibvirtFixture.requireLibvirt();
    }

    @Test
    void libvirtValidatesItAndItCarriesTheSpec() throws Exception {
        VmSpec spec = spec("web-1", dir.resolve("rootfs"), Accelerator.TCG);
        String xml = DomainXml.render(spec);

        assertValidatedByLibvirt(xml, spec.domainName());

        Document doc = parse(xml);
        assertEquals("qemu", text(doc, "/domain/@type"));
        assertEquals("vessel-web-1", text(doc, "/domain/name"));
        assertEquals(spec.uuid().toString(), text(doc, "/domain/uuid"));
        assertEquals("KiB", text(doc, "/domain/memory/@unit"));
        assertEquals(Long.toString(448 * 1024), text(doc, "/domain/memory"));
        assertEquals("2", text(doc, "/domain/vcpu"));
        assertEquals("", text(doc, "/domain/vcpu/@cpuset"), "not pinned unless asked");
        assertEquals(0.0, number(doc, "count(/domain/numatune)"));
        assertEquals(0.0, number(doc, "count(/domain/cputune)"), "no weight unless given: the kernel's default");
        assertEquals("q35", text(doc, "/domain/os/type/@machine"));
        assertEquals(spec.kernel().toString(), text(doc, "/domain/os/kernel"));
        assertEquals(spec.initrd().toString(), text(doc, "/domain/os/initrd"));
        assertEquals("console=ttyS0 panic=-1 quiet", text(doc, "/domain/os/cmdline"));
        assertEquals(1.0, number(doc, "count(/domain/features/acpi)"));
        for (String event : new String[] {"on_poweroff", "on_reboot", "on_crash"}) {
            assertEquals("destroy", text(doc, "/domain/" + event));
        }
        assertEquals(spec.consoleLog().toString(), text(doc, "/domain/devices/serial[@type='file']/source/@path"));
        assertEquals("bind", text(doc, "/domain/devices/channel[@type='unix']/source/@mode"));
        assertEquals(spec.agentSocket().toString(), text(doc, "/domain/devices/channel[@type='unix']/source/@path"));
        assertEquals("vessel.agent", text(doc, "/domain/devices/channel/target[@type='virtio']/@name"));
        assertEquals("mapped", text(doc, "/domain/devices/filesystem[@type='mount']/@accessmode"));
        assertEquals(spec.rootfs().toString(), text(doc, "/domain/devices/filesystem/source/@dir"));
        assertEquals("vessel-rootfs", text(doc, "/domain/devices/filesystem/target/@dir"));
        assertEquals(0.0, number(doc, "count(/domain/devices/filesystem/readonly | /domain/devices/disk)"));
        assertEquals("/vessel-test-vms", text(doc, "/domain/resource/partition"));
        // a balloon that only takes back what the guest reports free
        assertEquals("virtio", text(doc, "/domain/devices/memballoon/@model"));
        assertEquals("on", text(doc, "/domain/devices/memballoon/@freePageReporting"));
        assertEquals("none", text(doc, "/domain/devices/controller[@type='usb']/@model"));
        // no software image: no memory device, no slot for one, no NUMA cell
        assertEquals(0.0, number(doc, "count(/domain/maxMemory | /domain/devices/memory | /domain/cpu)"));
        assertEquals(0.0, number(doc, "count(/domain/devices/graphics | /domain/devices/video "
                + "| /domain/devices/input | /domain/devices/sound)"));
        assertEquals("static", text(doc, "/domain/seclabel/@type"));
        assertEquals("dac", text(doc, "/domain/seclabel/@model"));
        assertEquals("no", text(doc, "/domain/seclabel/@relabel"));
        // QEMU runs as its unprivileged user, never root
        assertEquals("+64055:+108", text(doc, "/domain/seclabel/label"));

        DomainMetadata metadata = metadataOf(xml);
        assertEquals("web-1", metadata.containerId());
        assertEquals(dir.resolve("state").toString(), metadata.stateDir());
    }

    @Test
    void volumesAreSharesAndDisksAreVirtioDisksWithTheirSerial() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path config = Files.createDirectories(dir.resolve("config"));
        Path image = Files.writeString(dir.resolve("disk.img"), "");
        Path overlay = Files.writeString(dir.resolve("disk.qcow2"), "");
        VmVolumes volumes = new VmVolumes(
                List.of(new VmVolumes.VolumeShare("vessel-vol0", data, false),
                        new VmVolumes.VolumeShare("vessel-vol1", config, true)),
                List.of(new VmVolumes.AttachedDisk(image, "raw", true, false, "vessel-disk0", "vda"),
                        new VmVolumes.AttachedDisk(overlay, "qcow2", false, false, "vessel-disk1", "vdb"),
                        new VmVolumes.AttachedDisk(Path.of("/dev/loop0"), "raw", false, true, "vessel-disk2", "vdc")),
                List.of(), List.of());
        VmSpec spec = spec("vol-xml", dir.resolve("rootfs"), Accelerator.TCG, volumes);
        String xml = DomainXml.render(spec);
        assertValidatedByLibvirt(xml, spec.domainName());

        Document doc = parse(xml);
        assertEquals(3.0, number(doc, "count(/domain/devices/filesystem)"));
        assertEquals(0.0, number(doc, "count(/domain/devices/filesystem[target/@dir='vessel-rootfs']/readonly)"));
        assertEquals(data.toString(), text(doc, "/domain/devices/filesystem[target/@dir='vessel-vol0']/source/@dir"));
        assertEquals(0.0, number(doc, "count(/domain/devices/filesystem[target/@dir='vessel-vol0']/readonly)"));
        assertEquals(config.toString(), text(doc, "/domain/devices/filesystem[target/@dir='vessel-vol1']/source/@dir"));
        assertEquals(1.0, number(doc, "count(/domain/devices/filesystem[target/@dir='vessel-vol1']/readonly)"));
        // every share in QEMU's mapped model: setuid bits and device nodes stay in xattrs
        assertEquals("mapped", text(doc, "/domain/devices/filesystem[target/@dir='vessel-rootfs']/@accessmode"));
        assertEquals("mapped", text(doc, "/domain/devices/filesystem[target/@dir='vessel-vol0']/@accessmode"));
        assertEquals("mapped", text(doc, "/domain/devices/filesystem[target/@dir='vessel-vol1']/@accessmode"));

        assertEquals(3.0, number(doc, "count(/domain/devices/disk[@device='disk'])"));
        String raw = "/domain/devices/disk[serial='vessel-disk0']";
        assertEquals("file", text(doc, raw + "/@type"));
        assertEquals(image.toString(), text(doc, raw + "/source/@file"));
        assertEquals("raw", text(doc, raw + "/driver/@type"));
        assertEquals("vda", text(doc, raw + "/target/@dev"));
        assertEquals("virtio", text(doc, raw + "/target/@bus"));
        assertEquals(1.0, number(doc, "count(" + raw + "/readonly)"));
        String qcow2 = "/domain/devices/disk[serial='vessel-disk1']";
        assertEquals("qcow2", text(doc, qcow2 + "/driver/@type"));
        assertEquals("vdb", text(doc, qcow2 + "/target/@dev"));
        assertEquals(0.0, number(doc, "count(" + qcow2 + "/readonly)"));
        String block = "/domain/devices/disk[serial='vessel-disk2']";
        assertEquals("block", text(doc, block + "/@type"));
        assertEquals("/dev/loop0", text(doc, block + "/source/@dev"));
    }

    @Test
    void aHostRootfsIsPassedThroughAndAWarmGuestExportsItsShareBothWays() throws Exception {
        VmSpec host = spec("host-rootfs", dir.resolve("host-rootfs"), Accelerator.TCG);
        host = host.toBuilder().rootfsMapped(false).build();
        Document doc = parse(DomainXml.render(host));
        assertEquals(1.0, number(doc, "count(/domain/devices/filesystem)"));
        assertEquals("passthrough", text(doc, "/domain/devices/filesystem[target/@dir='vessel-rootfs']/@accessmode"));

        VmSpec task = spec("for-warm", dir.resolve("share"), Accelerator.TCG);
        VmSpec warm = task.toBuilder().containerId("").domainName(DomainNames.forWarmGuest()).rootfsMapped(true).build();
        String xml = DomainXml.render(warm);
        assertValidatedByLibvirt(xml, warm.domainName());
        doc = parse(xml);
        assertEquals(2.0, number(doc, "count(/domain/devices/filesystem)"));
        for (String tag : List.of(DomainXml.ROOTFS_TAG, DomainXml.PASSTHROUGH_ROOTFS_TAG)) {
            assertEquals(warm.rootfs().toString(), text(doc, "/domain/devices/filesystem[target/@dir='" + tag
                    + "']/source/@dir"));
        }
        assertEquals("mapped", text(doc, "/domain/devices/filesystem[target/@dir='vessel-rootfs']/@accessmode"));
        assertEquals("passthrough",
                text(doc, "/domain/devices/filesystem[target/@dir='vessel-rootfs-host']/@accessmode"));
    }

    @Test
    void theSoftwareImageIsAPrivateUnarmedNvdimmOfWhichQemuCopiesNothing() throws Exception {
        Path image = Files.write(dir.resolve("software.erofs"), new byte[0]);
        VmSpec spec = withSoftware(spec("sw-xml", dir.resolve("rootfs"), Accelerator.TCG),
                new VmSpec.Software(image, 64 * VmLauncherConfig.MIB));
        String xml = DomainXml.render(spec);
        assertValidatedByLibvirt(xml, spec.domainName());

        Document doc = parse(xml);
        assertEquals(Long.toString((448 + 64) * 1024), text(doc, "/domain/maxMemory"));
        assertEquals("1", text(doc, "/domain/maxMemory/@slots"));
        assertEquals(Long.toString(448 * 1024), text(doc, "/domain/cpu/numa/cell/@memory"));
        assertEquals("0-1", text(doc, "/domain/cpu/numa/cell/@cpus"));
        assertEquals("nvdimm", text(doc, "/domain/devices/memory/@model"));
        assertEquals(image.toString(), text(doc, "/domain/devices/memory/source/path"));

        // what QEMU is told: the file mapped privately, not preallocated (each guest would copy every page),
        // the NVDIMM unarmed (read-only in the guest); the balloon reports free pages
        LibvirtFixture.Result argv = LibvirtFixture.virsh("domxml-to-native", "qemu-argv",
                Files.writeString(dir.resolve("native.xml"), xml).toString());
        assertEquals(0, argv.status(), argv.output());
        String backend = argv.output().lines().flatMap(l -> List.of(l.split(" ")).stream())
                .filter(arg -> arg.contains("memory-backend-file")).findFirst().orElseThrow(() ->
                        new AssertionError("no memory-backend-file in " + argv.output()));
        assertTrue(backend.contains("\"mem-path\":\"" + image + "\""), backend);
        assertTrue(backend.contains("\"share\":false"), backend);
        assertFalse(backend.contains("prealloc"), backend);
        assertTrue(argv.output().contains("\"driver\":\"nvdimm\"") && argv.output().contains("\"unarmed\":true"),
                argv.output());
        assertTrue(argv.output().contains("nvdimm=on"), argv.output());
        assertTrue(argv.output().contains("\"free-page-reporting\":true"), argv.output());

        VmSpec kvm = withSoftware(spec("sw-kvm", dir.resolve("rootfs"), Accelerator.KVM),
                new VmSpec.Software(image, 64 * VmLauncherConfig.MIB));
        doc = parse(DomainXml.render(kvm));
        assertEquals("host-passthrough", text(doc, "/domain/cpu/@mode"));
        assertEquals(1.0, number(doc, "count(/domain/cpu/numa/cell)"));
    }

    @Test
    void theVirtioDevicesSitOnTheRootComplexNotBehindRootPorts() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path image = Files.writeString(dir.resolve("disk.img"), "");
        VmVolumes volumes = new VmVolumes(List.of(new VmVolumes.VolumeShare("vessel-vol0", data, false)),
                List.of(new VmVolumes.AttachedDisk(image, "raw", true, false, "vessel-disk0", "vda")), List.of(), List.of());
        VmSpec spec = spec("slots", dir.resolve("rootfs"), Accelerator.TCG, volumes,
                List.of(new VmSpec.Nic("vtab12-0", "02:42:0a:58:07:02")));
        String xml = DomainXml.render(spec);
        assertValidatedByLibvirt(xml, spec.domainName());
        // (libvirt's domxml-to-native redefines a tap NIC, losing its address: the XML's is checked instead)
        Document doc = parse(xml);
        assertEquals("0x00", text(doc, "/domain/devices/interface/address[@type='pci']/@bus"));
        assertEquals(6.0, number(doc, "count(/domain/devices/*/address[@type='pci'][@bus='0x00'])"));
        spec = spec("slots", dir.resolve("rootfs"), Accelerator.TCG, volumes, List.of());
        xml = DomainXml.render(spec);

        LibvirtFixture.Result argv = LibvirtFixture.virsh("domxml-to-native", "qemu-argv",
                Files.writeString(dir.resolve("native.xml"), xml).toString());
        assertEquals(0, argv.status(), argv.output());
        assertFalse(argv.output().contains("pcie-root-port"), argv.output());
        // virtio-serial, two 9p shares, the disk and the balloon, each in a slot of its own on pcie.0
        for (String driver : List.of("virtio-serial-pci", "virtio-9p-pci", "virtio-blk-pci", "virtio-balloon-pci")) {
            List<String> devices = argv.output().lines().flatMap(l -> List.of(l.split(" ")).stream())
                    .filter(arg -> arg.contains("\"driver\":\"" + driver + "\"")).toList();
            assertFalse(devices.isEmpty(), driver + " missing: " + argv.output());
            assertTrue(devices.stream().allMatch(d -> d.contains("\"bus\":\"pcie.0\"")), devices.toString());
        }
    }

    /**
     * A rootfs served with its owners kept: a virtio-fs device on the file server's socket (libvirt starts no
     * virtiofsd of its own), no 9p rootfs share, and guest RAM on a shared memfd the server can reach, while the
     * software image stays mapped privately.
     */
    @Test
    void aServedRootfsIsAVirtioFsDeviceOnTheServersSocketWithSharedGuestMemory() throws Exception {
        Path image = Files.write(dir.resolve("software.erofs"), new byte[(int) (2 * VmLauncherConfig.MIB)]);
        VmSpec s = withSoftware(spec("served", dir.resolve("bundle-rootfs"), Accelerator.TCG),
                new VmSpec.Software(image, 2 * VmLauncherConfig.MIB));
        Path socket = dir.resolve("vm-rootfs-server/virtiofsd.sock");
        VmSpec served = s.toBuilder().rootfsMapped(false).rootfsServerSocket(Optional.of(socket)).build();
        String xml = DomainXml.render(served);
        assertValidatedByLibvirt(xml, served.domainName());
        Document doc = parse(xml);
        String fs = "/domain/devices/filesystem[target/@dir='" + DomainXml.VIRTIOFS_ROOTFS_TAG + "']";
        assertEquals("virtiofs", text(doc, fs + "/driver/@type"));
        assertEquals(socket.toString(), text(doc, fs + "/source/@socket"));
        assertEquals(1.0, number(doc, "count(/domain/devices/filesystem)"), "a 9p rootfs share besides");
        assertEquals("memfd", text(doc, "/domain/memoryBacking/source/@type"));
        assertEquals("shared", text(doc, "/domain/memoryBacking/access/@mode"));

        LibvirtFixture.Result argv = LibvirtFixture.virsh("domxml-to-native", "qemu-argv",
                Files.writeString(dir.resolve("served.xml"), xml).toString());
        assertEquals(0, argv.status(), argv.output());
        List<String> args = argv.output().lines().flatMap(l -> List.of(l.split(" ")).stream()).toList();
        assertTrue(args.stream().anyMatch(a -> a.contains("memory-backend-memfd") && a.contains("\"share\":true")),
                "the guest's RAM is not shared: " + argv.output());
        assertTrue(args.stream().anyMatch(a -> a.contains("memory-backend-file") && a.contains("\"share\":false")),
                "the software image is not private: " + argv.output());
        assertTrue(args.stream().anyMatch(a -> a.contains("\"driver\":\"vhost-user-fs-pci\"")
                && a.contains("\"tag\":\"" + DomainXml.VIRTIOFS_ROOTFS_TAG + "\"")), argv.output());
        assertTrue(args.stream().anyMatch(a -> a.contains("path=" + socket)), argv.output());
        assertFalse(argv.output().contains("virtio-9p"), argv.output());
    }

    /** The operator's TCG code cache size reaches QEMU's accelerator (tb-size); KVM has none to size. */
    @Test
    void aTcgCodeCacheSizeReachesQemusAccelerator() throws Exception {
        VmSpec s = spec("tb", dir.resolve("rootfs"), Accelerator.TCG);
        VmSpec small = s.toBuilder().tcgCodeCacheMib(32).build();
        String xml = DomainXml.render(small);
        assertValidatedByLibvirt(xml, small.domainName());
        assertEquals("32", text(parse(xml), "/domain/features/tcg/tb-cache"));
        LibvirtFixture.Result argv = LibvirtFixture.virsh("domxml-to-native", "qemu-argv",
                Files.writeString(dir.resolve("tb.xml"), xml).toString());
        assertEquals(0, argv.status(), argv.output());
        assertTrue(argv.output().contains("tcg,tb-size=32"), argv.output());
        assertEquals(0.0, number(parse(DomainXml.render(s)), "count(/domain/features/tcg)"), "QEMU's default");

        VmSpec k = spec("tb-kvm", dir.resolve("rootfs"), Accelerator.KVM);
        VmSpec kvm = k.toBuilder().tcgCodeCacheMib(32).build();
        assertEquals(0.0, number(parse(DomainXml.render(kvm)), "count(/domain/features/tcg)"));
    }

    @Test
    void underTcgLibvirtReadsTheGuestCpuBackByItsFeatureWords() throws Exception {
        VmSpec spec = spec("cpu-read-back", dir.resolve("rootfs"), Accelerator.TCG);
        Path file = Files.writeString(dir.resolve("cpu.xml"), DomainXml.render(spec));
        LibvirtFixture.Result define = LibvirtFixture.virsh("define", "--validate", file.toString());
        assertEquals(0, define.status(), define.output());
        try {
            // libvirt kept it as its own override of QEMU's capabilities, not as a foreign element it ignores
            LibvirtFixture.Result dump = LibvirtFixture.virsh("dumpxml", spec.domainName());
            assertEquals(0, dump.status(), dump.output());
            assertTrue(dump.output().contains("<qemu:del capability='cpu-unavailable-features'/>"), dump.output());
        } finally {
            assertEquals(0, LibvirtFixture.virsh("undefine", spec.domainName()).status());
        }
        Document kvm = parse(DomainXml.render(spec("cpu-kvm", dir.resolve("rootfs"), Accelerator.KVM)));
        assertEquals(0.0, number(kvm, "count(/domain/*[local-name()='capabilities'])"), "libvirt's default under KVM");
    }

    @Test
    void aGuestWithDevicesPassedThroughHasNoBalloon() throws Exception {
        VmSpec plain = spec("pt", dir.resolve("rootfs"), Accelerator.TCG);
        VmSpec gpu = plain.toBuilder().rootfsMapped(true).passthrough(new VmSpec.Passthrough(
                List.of(dev.vessel.core.gpu.PciAddress.parse("0000:65:00.0").orElseThrow()), 64L << 30)).build();
        assertEquals("none", text(parse(DomainXml.render(gpu)), "/domain/devices/memballoon/@model"));
    }

    private static VmSpec withSoftware(VmSpec s, VmSpec.Software software) {
        return s.toBuilder().software(Optional.of(software)).build();
    }

    @Test
    void kvmAskForTheKvmDomainTypeAndTheHostCpu() throws Exception {
        Document doc = parse(DomainXml.render(spec("k", dir.resolve("rootfs"), Accelerator.KVM)));
        assertEquals("kvm", text(doc, "/domain/@type"));
        assertEquals("host-passthrough", text(doc, "/domain/cpu/@mode"));
    }

    @Test
    void hostileIdsAndPathsAreEscapedNotInterpreted() throws Exception {
        String hostileId = "x'/><evil a=\"1\"/>&amp;</vessel:container>";
        Path hostileRootfs = dir.resolve("root 'fs' & <dir>\"");
        VmSpec spec = spec(hostileId, hostileRootfs, Accelerator.TCG);
        String xml = DomainXml.render(spec);

        assertValidatedByLibvirt(xml, spec.domainName());
        Document doc = parse(xml);
        assertEquals(0.0, number(doc, "count(//evil)"));
        assertEquals(hostileRootfs.toString(), text(doc, "/domain/devices/filesystem/source/@dir"));
        assertEquals(hostileId, metadataOf(xml).containerId());
        String name = text(doc, "/domain/name");
        assertTrue(name.matches("vessel-[A-Za-z0-9_.-]+"), name);
    }

    @Test
    void metadataIsReadAsLibvirtHandsItBackAndForeignElementsAreNotOurs() {
        // libvirt returns the element of the namespace asked for without the namespace
        assertEquals(new DomainMetadata("a", "/s"), DomainMetadata.parse("<container id='a' state-dir='/s'/>").orElseThrow());
        assertTrue(DomainMetadata.parse("<x:container xmlns:x='urn:other' id='a' state-dir='/s'/>").isEmpty());
        assertTrue(DomainMetadata.parse("<container id='a'/>").isEmpty());
        assertTrue(DomainMetadata.parse("not xml").isEmpty());
    }

    /** Defines the domain with libvirt's schema validation, then undefines it at once. */
    private void assertValidatedByLibvirt(String xml, String name) throws Exception {
        assertFalse(LibvirtFixture.allDomainNames().contains(name), name + " exists before the test");
        Path file = Files.writeString(dir.resolve("domain.xml"), xml);
        LibvirtFixture.Result define = LibvirtFixture.virsh("define", "--validate", file.toString());
        try {
            assertEquals(0, define.status(), "libvirt refused the domain XML: " + define.output() + "\n" + xml);
        } finally {
            if (define.status() == 0) {
                LibvirtFixture.Result undefine = LibvirtFixture.virsh("undefine", name);
                assertEquals(0, undefine.status(), undefine.output());
            }
        }
        assertFalse(LibvirtFixture.allDomainNames().contains(name), name + " was left defined");
    }

    @Test
    void eachNicIsAVirtioInterfaceOnItsUnmanagedTapWithTheGivenMac() throws Exception {
        VmSpec spec = spec("net-xml", dir.resolve("rootfs"), Accelerator.TCG,
                List.of(new VmSpec.Nic("vtab12-0", "02:42:0a:58:07:02"), new VmSpec.Nic("vtab12-1", "0a:00:00:00:00:01")));
        String xml = DomainXml.render(spec);

        assertValidatedByLibvirt(xml, spec.domainName());
        Document doc = parse(xml);
        assertEquals(2.0, number(doc, "count(/domain/devices/interface)"));
        String first = "/domain/devices/interface[1]";
        assertEquals("ethernet", text(doc, first + "/@type"));
        assertEquals("02:42:0a:58:07:02", text(doc, first + "/mac/@address"));
        assertEquals("vtab12-0", text(doc, first + "/target/@dev"));
        assertEquals("no", text(doc, first + "/target/@managed"));
        assertEquals("virtio", text(doc, first + "/model/@type"));
        assertEquals("no", text(doc, first + "/rom/@enabled"));
        assertEquals("vtab12-1", text(doc, "/domain/devices/interface[2]/target/@dev"));
        assertEquals("0a:00:00:00:00:01", text(doc, "/domain/devices/interface[2]/mac/@address"));
    }

    @Test
    void aTemplatesGuestRunsTheTemplateWrapperToldItsPartAndHasNoBalloon() throws Exception {
        Path image = Files.write(dir.resolve("software.erofs"), new byte[0]);
        VmSpec plain = withSoftware(spec("tmpl-xml", dir.resolve("rootfs"), Accelerator.TCG),
                new VmSpec.Software(image, 64 * VmLauncherConfig.MIB));
        // libvirt's own QEMU stands in for the wrapper here: libvirt probes every emulator a domain names
        Path wrapper = Path.of("/usr/bin/qemu-system-x86_64");
        Path templateDir = dir.resolve("state/vm-templates/vessel-template-0123456789ab");
        for (VmSpec.Template.Role role : VmSpec.Template.Role.values()) {
            VmSpec spec = plain.toBuilder().template(Optional.of(new VmSpec.Template(role, wrapper, templateDir))).build();
            String xml = DomainXml.render(spec);

            assertValidatedByLibvirt(xml, spec.domainName());
            Document doc = parse(xml);
            assertEquals(wrapper.toString(), text(doc, "/domain/devices/emulator"));
            String env = "/domain/*[local-name()='commandline']/*[local-name()='env']";
            assertEquals(role.name().toLowerCase(java.util.Locale.ROOT),
                    text(doc, env + "[@name='" + DomainXml.TEMPLATE_ROLE_VARIABLE + "']/@value"));
            assertEquals(templateDir.toString(), text(doc, env + "[@name='" + DomainXml.TEMPLATE_DIR_VARIABLE + "']/@value"));
            // a clone's discards would punch holes in the template's file: no balloon, no free page reporting
            assertEquals("none", text(doc, "/domain/devices/memballoon/@model"));
        }
        Document booted = parse(DomainXml.render(plain));
        assertEquals(0.0, number(booted, "count(/domain/devices/emulator)"));
        assertEquals(0.0, number(booted, "count(/domain/*[local-name()='commandline'])"));
        assertEquals("virtio", text(booted, "/domain/devices/memballoon/@model"));
    }

    @Test
    void noNicNoInterface() throws Exception {
        assertEquals(0.0, number(parse(DomainXml.render(spec("n", dir.resolve("rootfs"), Accelerator.TCG))),
                "count(/domain/devices/interface)"));
    }

    private VmSpec spec(String id, Path rootfs, Accelerator accelerator) throws Exception {
        return spec(id, rootfs, accelerator, VmVolumes.none(), List.of());
    }

    private VmSpec spec(String id, Path rootfs, Accelerator accelerator, VmVolumes volumes) throws Exception {
        return spec(id, rootfs, accelerator, volumes, List.of());
    }

    private VmSpec spec(String id, Path rootfs, Accelerator accelerator, List<VmSpec.Nic> nics) throws Exception {
        return spec(id, rootfs, accelerator, VmVolumes.none(), nics);
    }

    private VmSpec spec(String id, Path rootfs, Accelerator accelerator, VmVolumes volumes, List<VmSpec.Nic> nics)
            throws Exception {
        Files.createDirectories(rootfs);
        Path kernel = Files.writeString(dir.resolve("vmlinux"), "kernel");
        Path initrd = Files.writeString(dir.resolve("initramfs.cpio"), "initrd");
        Path containerDir = Files.createDirectories(dir.resolve("run/containers/c"));
        return VmSpec.builder().containerId(id).stateDir(dir.resolve("state")).domainName(DomainNames.forContainer(id))
                .uuid(UUID.randomUUID()).accelerator(accelerator).qemuUser(QEMU).memoryBytes(448 * VmLauncherConfig.MIB)
                .vcpus(2).kernel(kernel).initrd(initrd).kernelCmdline("console=ttyS0 panic=-1 quiet").rootfs(rootfs)
                .rootfsMapped(true).agentSocket(containerDir.resolve("agent.sock"))
                .consoleLog(containerDir.resolve("console.log")).cgroupPartition("/vessel-test-vms").volumes(volumes)
                .nics(nics).build();
    }

    private static DomainMetadata metadataOf(String xml) throws Exception {
        Document doc = parse(xml);
        var element = (org.w3c.dom.Element) doc.getElementsByTagNameNS(DomainMetadata.NAMESPACE, "container").item(0);
        var out = new java.io.StringWriter();
        javax.xml.transform.TransformerFactory.newInstance().newTransformer().transform(
                new javax.xml.transform.dom.DOMSource(element), new javax.xml.transform.stream.StreamResult(out));
        return DomainMetadata.parse(out.toString()).orElseThrow();
    }

    private static Document parse(String xml) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        return factory.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
    }

    private static String text(Document doc, String xpath) throws Exception {
        return xpath().evaluate(xpath, doc);
    }

    private static double number(Document doc, String xpath) throws Exception {
        return (Double) xpath().evaluate(xpath, doc, XPathConstants.NUMBER);
    }

    private static XPath xpath() {
        return XPathFactory.newInstance().newXPath();
    }
}
