package dev.vessel.launcher.vm.domain;

import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Writes the libvirt domain of a full VM: a q35 machine whose firmware boots its root disk (the
 * machine's qcow2 overlay, its backing chain spelled out with every format so nothing is probed), the
 * further disks, the NoCloud seed as a last, read-only disk, a virtio NIC on each tap {@code vm/network}
 * made, the host PCI devices passed through to it (VFIO, as a VM task's), the serial console on a pty
 * (logged to a file), and nothing else. A guest reboot restarts it;
 * a poweroff or a crash ends it. QEMU runs as its unprivileged user with no relabelling, as a VM task's does
 * ({@link DomainXml}).
 */
public final class MachineDomainXml {
    /** The seed disk's serial; cloud-init finds the seed by its filesystem's label ({@code cidata}), not by this. */
    static final String SEED_SERIAL = "vessel-seed";

    private MachineDomainXml() {
    }

    public static String render(MachineSpec spec) {
        return DomainXml.document(spec.containerId(), xml -> {
            DomainXml.writeHead(xml, spec.accelerator(), spec.domainName(), spec.uuid(), spec.containerId(),
                    spec.stateDir(), spec.memoryBytes(), spec.vcpus(), spec.cpu(), spec.cgroupPartition());
            DomainXml.writeLockedMemory(xml, spec.passthrough(), spec.memoryBytes());
            xml.writeStartElement("os");
            DomainXml.writeOsType(xml);
            xml.writeEmptyElement("boot");
            xml.writeAttribute("dev", "hd");
            xml.writeEndElement();
            DomainXml.writeFeaturesAndEnds(xml, spec.accelerator(), "restart");

            xml.writeStartElement("devices");
            DomainXml.writeInteractiveConsole(xml, spec.consoleLog());
            writeRootDisk(xml, spec);
            for (int i = 0; i < spec.disks().size(); i++) {
                VmVolumes.AttachedDisk d = spec.disks().get(i);
                DomainXml.writeDisk(xml, new VmVolumes.AttachedDisk(d.path(), d.format(), d.readOnly(), d.blockDevice(),
                        d.serial(), VmVolumes.deviceName(i + 1)));
            }
            if (spec.seed().isPresent()) {
                // a read-only virtio disk, not a CD-ROM: cloud kernels carry virtio, not always AHCI and sr_mod
                DomainXml.writeDisk(xml, new VmVolumes.AttachedDisk(spec.seed().get(), "raw", true, false, SEED_SERIAL,
                        VmVolumes.deviceName(spec.disks().size() + 1)));
            }
            for (VmSpec.Nic nic : spec.nics()) {
                DomainXml.writeNic(xml, nic);
            }
            DomainXml.writePassthroughDevices(xml, spec.passthrough());
            DomainXml.writeNoUsbNoBalloon(xml);
            xml.writeEndElement();
            DomainXml.writeSeclabel(xml, spec.qemuUser());
        });
    }

    /** The overlay, and its base as its backing store: libvirt and QEMU are told each format, never guess. */
    private static void writeRootDisk(XMLStreamWriter xml, MachineSpec spec) throws XMLStreamException {
        xml.writeStartElement("disk");
        xml.writeAttribute("type", "file");
        xml.writeAttribute("device", "disk");
        xml.writeEmptyElement("driver");
        xml.writeAttribute("name", "qemu");
        xml.writeAttribute("type", "qcow2");
        xml.writeEmptyElement("source");
        xml.writeAttribute("file", spec.disk().toString());
        xml.writeStartElement("backingStore");
        xml.writeAttribute("type", "file");
        xml.writeEmptyElement("format");
        xml.writeAttribute("type", spec.base().format());
        xml.writeEmptyElement("source");
        xml.writeAttribute("file", spec.base().path().toString());
        xml.writeEmptyElement("backingStore"); // and nothing under it
        xml.writeEndElement();
        xml.writeEmptyElement("target");
        xml.writeAttribute("dev", "vda");
        xml.writeAttribute("bus", "virtio");
        xml.writeEndElement();
    }
}
