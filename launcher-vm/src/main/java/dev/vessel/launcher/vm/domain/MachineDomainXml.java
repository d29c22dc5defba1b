package dev.vessel.launcher.vm.domain;

import java.io.StringWriter;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Writes the libvirt domain of a full VM: a q35 machine whose firmware boots its root disk (the
 * machine's qcow2 overlay, its backing chain spelled out with every format so nothing is probed), the
 * further disks, the NoCloud seed as a last, read-only disk, a virtio NIC on each tap {@code vm/network}
 * made, the serial console in a file, and nothing else. A guest reboot restarts it; a poweroff or a
 * crash ends it. QEMU runs as its unprivileged user with no relabelling, as a VM task's does
 * ({@link DomainXml}).
 */
public final class MachineDomainXml {
    /** The seed disk's serial; cloud-init finds the seed by its filesystem's label ({@code cidata}), not by this. */
    static final String SEED_SERIAL = "vessel-seed";

    private MachineDomainXml() {
    }

    public static String render(MachineSpec spec) {
        StringWriter out = new StringWriter();
        try {
            XMLStreamWriter xml = XMLOutputFactory.newFactory().createXMLStreamWriter(out);
            xml.writeStartElement("domain");
            xml.writeAttribute("type", spec.accelerator().domainType());
            DomainXml.text(xml, "name", spec.domainName());
            DomainXml.text(xml, "uuid", spec.uuid().toString());
            xml.writeStartElement("metadata");
            new DomainMetadata(spec.containerId(), spec.stateDir().toString()).write(xml);
            xml.writeEndElement();
            xml.writeStartElement("memory");
            xml.writeAttribute("unit", "KiB");
            xml.writeCharacters(Long.toString((spec.memoryBytes() + 1023) / 1024));
            xml.writeEndElement();
            DomainXml.text(xml, "vcpu", Integer.toString(spec.vcpus()));
            xml.writeStartElement("resource");
            DomainXml.text(xml, "partition", spec.cgroupPartition());
            xml.writeEndElement();

            xml.writeStartElement("os");
            xml.writeStartElement("type");
            xml.writeAttribute("arch", "x86_64");
            xml.writeAttribute("machine", "q35");
            xml.writeCharacters("hvm");
            xml.writeEndElement();
            xml.writeEmptyElement("boot");
            xml.writeAttribute("dev", "hd");
            xml.writeEndElement();
            // ACPI: the power button an orderly stop presses
            xml.writeStartElement("features");
            xml.writeEmptyElement("acpi");
            xml.writeEndElement();
            if (spec.accelerator() == Accelerator.KVM) {
                xml.writeEmptyElement("cpu");
                xml.writeAttribute("mode", "host-passthrough");
            }
            DomainXml.text(xml, "on_poweroff", "destroy");
            DomainXml.text(xml, "on_reboot", "restart");
            DomainXml.text(xml, "on_crash", "destroy");

            xml.writeStartElement("devices");
            DomainXml.writeConsole(xml, spec.consoleLog());
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
            xml.writeEmptyElement("controller");
            xml.writeAttribute("type", "usb");
            xml.writeAttribute("model", "none");
            xml.writeEmptyElement("memballoon");
            xml.writeAttribute("model", "none");
            xml.writeEndElement();

            xml.writeStartElement("seclabel");
            xml.writeAttribute("type", "static");
            xml.writeAttribute("model", "dac");
            xml.writeAttribute("relabel", "no");
            DomainXml.text(xml, "label", spec.qemuUser().dacLabel());
            xml.writeEndElement();

            xml.writeEndElement();
            xml.writeEndDocument();
            xml.close();
        } catch (XMLStreamException e) {
            throw new IllegalStateException("cannot write the domain XML of " + spec.containerId(), e);
        }
        return out.toString();
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
