package dev.vessel.launcher.vm.domain;

import dev.vessel.core.cpu.CpuQuota;
import dev.vessel.core.model.Resources;
import java.util.Objects;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * How the host schedules a VM: the host CPUs its vCPUs and QEMU's own threads run on and the NUMA nodes its memory
 * comes from (a VM task's {@code resources.cpuset_cpus} and {@code cpuset_mems}, in the kernel's list format, checked
 * by the validator against the node; empty: anywhere), its CPU weight against the host's other cgroups (see
 * {@link CgroupPartition#cpuWeight}; 0: the kernel's default), and the CPU time it may use from its boot on, in CPUs
 * (a full VM's limit; 0: none; a VM task's comes as its task starts, see {@link LibvirtDomains#setCpuLimit}).
 */
public record CpuTuning(String cpus, String mems, long weight, double limit) {
    public static final CpuTuning NONE = new CpuTuning("", "", 0, 0);

    public CpuTuning {
        Objects.requireNonNull(cpus, "cpus");
        Objects.requireNonNull(mems, "mems");
        if (weight < 0) {
            throw new IllegalArgumentException("a CPU weight is positive, or 0 for the kernel's default");
        }
        if (!(limit >= 0)) {
            throw new IllegalArgumentException("a CPU limit is positive, or 0 for none");
        }
    }

    /** The resources' pinning, and their weight as {@code partition}'s domains take it; no limit at boot. */
    public static CpuTuning of(Resources resources, CgroupPartition partition) {
        return new CpuTuning(resources.getCpusetCpus().strip(), resources.getCpusetMems().strip(),
                partition.cpuWeight(resources), 0);
    }

    /** As this, limited to {@code cpus} CPUs from its boot on (0: none). */
    public CpuTuning withLimit(double cpus) {
        return new CpuTuning(this.cpus, mems, weight, cpus);
    }

    /** Whether the VM is pinned to host CPUs or memory nodes. */
    public boolean pinned() {
        return !cpus.isEmpty() || !mems.isEmpty();
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

    /**
     * {@code <cputune>}, only with a weight or a limit: its {@code <shares>}, and its limit as a quota of every
     * {@link CpuQuota#PERIOD_US} for the whole VM ({@code <global_quota>}: vCPUs and QEMU's threads together); what
     * libvirt writes to the domain's cgroup.
     */
    void writeCputune(XMLStreamWriter xml) throws XMLStreamException {
        if (weight == 0 && limit == 0) {
            return;
        }
        xml.writeStartElement("cputune");
        if (weight != 0) {
            element(xml, "shares", weight);
        }
        if (limit != 0) {
            element(xml, "global_period", CpuQuota.PERIOD_US);
            element(xml, "global_quota", CpuQuota.quotaUs(limit));
        }
        xml.writeEndElement();
    }

    private static void element(XMLStreamWriter xml, String name, long value) throws XMLStreamException {
        xml.writeStartElement(name);
        xml.writeCharacters(Long.toString(value));
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
