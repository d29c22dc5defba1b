package dev.vessel.launcher.vm.domain;

import dev.vessel.core.model.Resources;
import java.util.Objects;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * The host CPUs a VM's vCPUs and QEMU's own threads run on, and the NUMA nodes its memory comes from: a VM task's
 * {@code resources.cpuset_cpus} and {@code cpuset_mems}, in the kernel's list format (the validator checked them
 * against the node). Empty: anywhere, as the host schedules.
 */
public record CpuPinning(String cpus, String mems) {
    public static final CpuPinning NONE = new CpuPinning("", "");

    public CpuPinning {
        Objects.requireNonNull(cpus, "cpus");
        Objects.requireNonNull(mems, "mems");
    }

    public static CpuPinning of(Resources resources) {
        return new CpuPinning(resources.getCpusetCpus().strip(), resources.getCpusetMems().strip());
    }

    public boolean none() {
        return cpus.isEmpty() && mems.isEmpty();
    }

    /** {@code <vcpu>}: the count, pinned with libvirt's static placement to {@link #cpus} (emulator threads too). */
    void writeVcpu(XMLStreamWriter xml, int vcpus) throws XMLStreamException {
        xml.writeStartElement("vcpu");
        if (!cpus.isEmpty()) {
            xml.writeAttribute("placement", "static");
            xml.writeAttribute("cpuset", cpus);
        }
        xml.writeCharacters(Integer.toString(vcpus));
        xml.writeEndElement();
    }

    /** {@code <numatune>}, only with memory nodes: the guest's memory strictly from {@link #mems}. */
    void writeNumatune(XMLStreamWriter xml) throws XMLStreamException {
        if (mems.isEmpty()) {
            return;
        }
        xml.writeStartElement("numatune");
        xml.writeEmptyElement("memory");
        xml.writeAttribute("mode", "strict");
        xml.writeAttribute("nodeset", mems);
        xml.writeEndElement();
    }
}
